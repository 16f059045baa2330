"""Personalized creative: LLM-written copy per audience segment x channel, with guardrails and review.

Modules, in the order data flows through them:
- ``config``: the brief, brand rules, channel specs and model settings (``include/config/creative.yaml``).
- ``segments``: segment descriptions reduced to whitelisted aggregate facts (nothing personal).
- ``pii``: the personal-data patterns kept out of prompts and copy.
- ``angles``: the story each variant tells a segment, chosen from its facts.
- ``prompts``: Jinja2 templates (``include/prompts/``) rendered in a sandboxed, strict environment.
- ``items``: one variant to write (segment x channel x variant) and its conversation; retries.
- ``bedrock``: Anthropic-on-Bedrock request and response shapes, parsing, a bedrock-runtime call.
- ``batch``: Bedrock batch inference JSONL records in and out.
- ``generator``: the local target's deterministic copywriter, answering with Bedrock-shaped bodies.
- ``guardrails``: the checks each variant must pass (limits, banned words, disclaimers, PII, superlatives).
- ``pipeline``: judging answers and deciding retries, for every target.
- ``state_machine``: Step Functions execution input and output (aws target).
- ``review``: ``creatives`` rows, the static review page, applying reviewers' decisions.
- ``rounds``: the personalization DAG's rounds (prepare, answer, settle, publish), state in the lake.
- ``jobs``: the entry points task builders run.
- ``operators``: the aws target's Step Functions start/sensor that keep payloads in the lake.

No Airflow and no boto3 in this package, except ``operators`` (imported only by the aws task builder).
"""
