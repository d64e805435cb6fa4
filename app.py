"""CDK entry point: `cdk synth` / `cdk deploy`, or `CDK_OUTDIR=cdk.out python app.py` (see docs/DEPLOY.md)."""

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.config import StackConfig, load_context
from infra.stack import GenAiStack

app = cdk.App(context=load_context())  # cdk.json applies when run without the CLI too
config = StackConfig.from_context(app.node.get_all_context())
GenAiStack(app, config.stack_name, config=config)
cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
app.synth()
