"""Seed 000's code ("collect domain-expert feedback", steps 1-4 and 6) as a user runs it: one
script, in its own process, against a real collector.

The code is the seed's, line for line, with three changes a user pointing it at annotrace makes:
``mlflow`` -> ``annotrace`` (``import annotrace as mlflow``), the tracking URI is the
collector's instead of ``"databricks"``, and ``openai.OpenAI()`` reaches the local fake LLM
through ``OPENAI_BASE_URL`` / ``OPENAI_API_KEY`` in the environment (as the seed says: "Ensure
your OPENAI_API_KEY is set in your environment"). What follows the seed's last line only prints
what the script got, for the test to check; nothing in it flushes, sleeps or polls.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests.collector_process import Collector
from tests.fakes.llm import FakeLLM

SEED_000 = r"""
import annotrace as mlflow
import os
import openai

# Ensure your OPENAI_API_KEY is set in your environment
# os.environ["OPENAI_API_KEY"] = "<YOUR_API_KEY>" # Uncomment and set if not globally configured

# Enable auto-tracing for OpenAI
mlflow.openai.autolog()

# Set up MLflow tracking to Databricks
mlflow.set_tracking_uri("{tracking_uri}")
mlflow.set_experiment("/Shared/docs-demo")

# Create an OpenAI client connected to OpenAI SDKs
client = openai.OpenAI()

# Select an LLM
model_name = "gpt-4o-mini"

from annotrace.entities import Document
from typing import List, Dict


# Spans of type RETRIEVER are rendered in the Review App as documents.
@mlflow.trace(span_type="RETRIEVER")
def retrieve_docs(query: str) -> List[Document]:
    normalized_query = query.lower()
    if "john doe" in normalized_query:
        return [
            Document(
                id="conversation_123",
                page_content="John Doe mentioned issues with login on July 10th. Expressed interest in feature X.",
                metadata={"doc_uri": "http://domain.com/conversations/123"},
            ),
            Document(
                id="conversation_124",
                page_content="Follow-up call with John Doe on July 12th. Login issue resolved. Discussed pricing for feature X.",
                metadata={"doc_uri": "http://domain.com/conversations/124"},
            ),
        ]
    else:
        return [
            Document(
                id="ticket_987",
                page_content="Acme Corp raised a critical P0 bug regarding their main dashboard on July 15th.",
                metadata={"doc_uri": "http://domain.com/tickets/987"},
            )
        ]


# Sample app to review traces from
@mlflow.trace
def my_app(messages: List[Dict[str, str]]):
    # 1. Retrieve conversations based on the last user message
    last_user_message_content = messages[-1]["content"]
    retrieved_documents = retrieve_docs(query=last_user_message_content)
    retrieved_docs_text = "\n".join([doc.page_content for doc in retrieved_documents])

    # 2. Prepare messages for the LLM
    messages_for_llm = [
        {"role": "system", "content": "You are a helpful assistant!"},
        {
            "role": "user",
            "content": f"Additional retrieved context:\n{retrieved_docs_text}\n\nNow, please provide the one-paragraph summary based on the user's request {last_user_message_content} and this retrieved context.",
        },
    ]

    # 3. Call LLM to generate the summary
    return client.chat.completions.create(
        model=model_name,  # This example uses Databricks hosted Claude-3-7-Sonnet. If you provide your own OpenAI credentials, replace with a valid OpenAI model e.g., gpt-4o, etc.
        messages=messages_for_llm,
    )


from annotrace.genai.label_schemas import create_label_schema, InputCategorical, InputText

# Collect feedback on the summary
summary_quality = create_label_schema(
    name="summary_quality",
    type="feedback",
    title="Is this summary concise and helpful?",
    input=InputCategorical(options=["Yes", "No"]),
    instruction="Please provide a rationale below.",
    enable_comment=True,
    overwrite=True,
)

# Collect a ground truth summary
expected_summary = create_label_schema(
    name="expected_summary",
    type="expectation",
    title="Please provide the correct summary for the user's request.",
    input=InputText(),
    overwrite=True,
)

from annotrace.genai.labeling import create_labeling_session

# Create the Labeling Session with the schemas we created in the previous step
label_summaries = create_labeling_session(
    name="label_summaries",
    assigned_users=[],
    label_schemas=[summary_quality.name, expected_summary.name],
)

import annotrace as mlflow

# Use verison tracking to be able to easily query for the traces
tracked_model = mlflow.set_active_model(name="my_app")

# Run the app to generate traces
sample_messages_1 = [
    {"role": "user", "content": "what issues does john doe have?"},
]
summary1_output = my_app(sample_messages_1)

sample_messages_2 = [
    {"role": "user", "content": "what issues does acme corp have?"},
]
summary2_output = my_app(sample_messages_2)

# Query for the traces we just generated
traces = mlflow.search_traces(model_id=tracked_model.model_id)

# Add the traces to the session
label_summaries.add_traces(traces)

# Print the URL to share with your domain experts
print(f"Share this Review App with your team: {label_summaries.url}")
"""

STEP_6 = r"""
labeled_traces_df = mlflow.search_traces(run_id=label_summaries.mlflow_run_id)
"""

REPORT = r"""
import json as _json
print(_json.dumps({
    "url": label_summaries.url,
    "session": label_summaries.mlflow_run_id,
    "model_id": tracked_model.model_id,
    "traces": list(traces["trace_id"]),
    "answers": [summary1_output.choices[0].message.content, summary2_output.choices[0].message.content],
    "labeled": {labeled},
}))
"""


def run_seed_000(collector: Collector, llm: FakeLLM, *, step_6: bool = True) -> dict[str, Any]:
    """Run the seed's script against ``collector``; what it printed last, as a dict."""
    code = SEED_000.replace("{tracking_uri}", collector.web)
    if step_6:
        code += STEP_6
    code += REPORT.replace("{labeled}", 'list(labeled_traces_df["trace_id"])' if step_6 else "None")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("MLFLOW_", "ANNOTRACE_", "OTEL_"))}
    env.update(OPENAI_BASE_URL=llm.base_url, OPENAI_API_KEY="sk-seed-000")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert (
        lines[0] == f"Share this Review App with your team: {collector.web}/review/" + json.loads(lines[-1])["session"]
    )
    result: dict[str, Any] = json.loads(lines[-1])
    return result
