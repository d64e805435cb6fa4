"""The runtime layer: third-party packages installed by pip during synthesis (no Docker).

CDK *local bundling* runs pip on this machine with the Lambda platform's wheel tags, so the layer
holds arm64 / CPython 3.14 binaries whatever the host is. Tests set `skip_layer_bundling`: the
layer then holds only the requirements file and the template synthesizes in seconds.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from infra.lambdas import ARCHITECTURE, REPO_ROOT, RUNTIME

LAYERS_DIR = REPO_ROOT / "layers"
#: numpy 2.3+ publishes aarch64 wheels for manylinux_2_28 only; Lambda's Amazon Linux 2023 has glibc 2.34.
PLATFORMS = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
PYTHON_VERSION = "3.14"  # the version of `RUNTIME`
#: Packages the Lambda Python runtime already provides; pulled in as dependencies (by the X-Ray
#: SDK), they would only add 30+ MB to the layer.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath")


@jsii.implements(cdk.ILocalBundling)
class PipInstall:
    """Installs a requirements file into `<output>/python`, the folder Lambda puts on `sys.path`."""

    def __init__(self, requirements: Path) -> None:
        self._requirements = requirements

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **_options: object) -> bool:
        """Always bundles here (never falls back to Docker); a pip failure fails the synthesis."""
        platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
        command = [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--no-warn-conflicts",
            *platforms, "--only-binary=:all:", "--implementation", "cp", "--python-version", PYTHON_VERSION,
            "--target", str(Path(output_dir) / "python"), "--requirement", str(self._requirements),
        ]  # fmt: skip
        subprocess.run(command, check=True)
        target = Path(output_dir) / "python"
        for name in RUNTIME_PROVIDED:
            for path in [target / name, *target.glob(f"{name}-*.dist-info")]:
                shutil.rmtree(path, ignore_errors=True)
        return True


class RuntimeLayer(Construct):
    """The layer with every third-party package the Lambda functions import."""

    def __init__(self, scope: Construct, construct_id: str, *, skip_bundling: bool) -> None:
        super().__init__(scope, construct_id)
        source = LAYERS_DIR / "runtime"
        bundling = None
        if not skip_bundling:
            bundling = cdk.BundlingOptions(
                # Required by the API; never pulled, since local bundling always succeeds or raises.
                image=RUNTIME.bundling_image,
                local=PipInstall(source / "requirements.txt"),
            )
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(source), bundling=bundling),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="genai-stack runtime dependencies (layers/runtime/requirements.txt)",
        )
