"""The training pipelines: Step Functions state machines that run `training_jobs` on SageMaker.

`pipeline` composes the two state machines from the job states (`jobs`), the execution roles
(`roles`) and the promotion step (`promotion`); `naming` holds the run-time names they share.
"""

from infra.training.jobs import training_requirements
from infra.training.pipeline import TrainingPipeline
from infra.training.promotion import CURRENT_MODEL_KEY

__all__ = ["CURRENT_MODEL_KEY", "TrainingPipeline", "training_requirements"]
