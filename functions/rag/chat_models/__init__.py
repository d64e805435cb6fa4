"""Chat models, as LangChain `BaseChatModel`s: the extractive default, a local checkpoint, and
the models AWS serves (Bedrock Converse, a SageMaker endpoint)."""
