"""AI steps: the Anthropic and OpenAI providers, the offline rules, and the structured tasks
they serve (risk scoring, customer emails, maintenance triage).

Every model call runs inside an activity, so Temporal owns its retries and a replayed
workflow never calls a model again.
"""
