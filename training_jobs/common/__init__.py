"""Pieces shared by every training job: the SageMaker contract, argument parsing, model I/O."""
