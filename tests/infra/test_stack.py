"""infra/fruits-pipeline.yaml: checked by cfn-lint and parliament, deployed into moto's
CloudFormation, and compared with the requests the DAG renders from the stack's outputs."""

from __future__ import annotations

import ast
import fnmatch
import gzip
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
import jmespath
import pytest
from botocore.exceptions import ClientError
from cfnlint.decode import decode
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication
from parliament import analyze_policy_string

from fruit_pipeline.config import load_config
from fruit_pipeline.emr_requests import (
    CLUSTER_TAG,
    bootstrap_actions,
    instance_capacity,
    job_flow_overrides,
    spark_steps,
)
from fruit_pipeline.sizing import ClusterShape
from fruits_contract.artifacts import NODE_ENV_MANIFEST, node_env_archive
from localaws.staging import Stager
from tests.plugins.test_emr_requests import assert_valid, render

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra/fruits-pipeline.yaml"
CFN_LINT = Path(sys.executable).with_name("cfn-lint")
REGION = "eu-west-1"
STACK = "fruits"
BUCKET = "fruits-data-test"
CORE_NODES = ClusterShape("m5.xlarge", "m5.2xlarge", 2, 10.0, "a bigger day")


@dataclass
class Deployed:
    outputs: dict[str, str]
    settings: dict[str, str]  # FRUITS_* from the outputs, by the docs' own query
    at_rest_encryption: bool
    iam: object
    s3: object
    emr: object

    def policy(self, name: str) -> dict:
        arn = f"arn:aws:iam::123456789012:policy/{name}"
        version = self.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = self.iam.get_policy_version(PolicyArn=arn, VersionId=version)
        return document["PolicyVersion"]["Document"]


def documented_settings_query() -> str:
    """The --query of docs/deploy.md's step 4, which turns the stack's outputs into FRUITS_*
    lines."""
    page = (ROOT / "docs" / "deploy.md").read_text()
    (query,) = re.findall(r'--query "(Stacks\[0\]\.Outputs\[\?starts_with[^"]+)"', page)
    return query


def cfn_lint(path: Path) -> subprocess.CompletedProcess:
    command = [str(CFN_LINT), "--regions", "eu-west-1", "eu-central-1", "eu-north-1", "--", path]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_cfn_lint_finds_nothing():
    linted = cfn_lint(TEMPLATE)
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert linted.stdout == ""


def test_cfn_lint_catches_a_broken_template(tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(TEMPLATE.read_text().replace("SSEAlgorithm: AES256", "SSEAlgorithm: ROT13"))
    assert cfn_lint(broken).returncode != 0


@pytest.fixture(scope="module", params=[False, True], ids=["default", "at-rest-encryption"])
def deployed(request):
    with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            monkeypatch.setenv(name, "testing")
        subnet = boto3.client("ec2", region_name=REGION).describe_subnets()["Subnets"][0]
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        parameters = {
            "DataBucketName": BUCKET,
            "SubnetId": subnet["SubnetId"],
            "EnableAtRestEncryption": str(request.param).lower(),
        }
        cloudformation.create_stack(
            StackName=STACK,
            TemplateBody=TEMPLATE.read_text(),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_NAMED_IAM"],
        )
        described = cloudformation.describe_stacks(StackName=STACK)
        (stack,) = described["Stacks"]
        assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
        yield Deployed(
            outputs={output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]},
            settings=dict(jmespath.search(documented_settings_query(), described)),
            at_rest_encryption=request.param,
            iam=boto3.client("iam", region_name=REGION),
            s3=boto3.client("s3", region_name=REGION),
            emr=boto3.client("emr", region_name=REGION),
        )


@pytest.fixture(scope="module")
def cluster_request(deployed):
    """The stack's outputs as the FRUITS_* settings, the requests rendered as the DAG renders
    them: featurize and PCA (the erase step's access: ..._nodes_apply_an_erasure_...), and a
    cluster with core nodes on-demand (a spot fleet below)."""
    from airflow.dag_processing.dagbag import DagBag

    settings = deployed.settings
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        dag = DagBag(dag_folder=str(ROOT / "dags")).dags["fruit_features"]
    config = load_config(settings)
    steps = render(dag, spark_steps(config), {"model": "mobilenet_v2"})
    instances = instance_capacity(config, CORE_NODES, spot=False)
    bootstrap = bootstrap_actions(config, [config.artifact(node_env_archive("x86_64", "e" * 64))])
    request = job_flow_overrides(config, "fruit_features", instances, bootstrap)
    return render(dag, request, {}), steps


def s3_uris(value) -> list[str]:
    text = json.dumps(value)
    return [part.split('"')[0] for part in text.split("s3://")[1:]]


def test_the_outputs_set_every_fruits_variable_the_stack_decides(deployed):
    assert set(deployed.settings) == {
        "FRUITS_DATA_BUCKET",
        "FRUITS_ARTIFACTS_URI",
        "FRUITS_LOGS_URI",
        "FRUITS_SERVICE_ROLE",
        "FRUITS_JOB_FLOW_ROLE",
        "FRUITS_SECURITY_CONFIGURATION",
        "FRUITS_SUBNET_ID",
        "FRUITS_ALERTS_TOPIC_ARN",
    }


def test_the_dags_requests_use_the_roles_bucket_and_settings_the_stack_created(
    deployed, cluster_request
):
    cluster, steps = cluster_request
    assert_valid("RunJobFlow", cluster)
    service_role = deployed.iam.get_role(RoleName=cluster["ServiceRole"])["Role"]
    profile = deployed.iam.get_instance_profile(InstanceProfileName=cluster["JobFlowRole"])
    (instance_role,) = profile["InstanceProfile"]["Roles"]
    assert service_role["RoleName"] == f"{STACK}-emr-service"
    assert instance_role["RoleName"] == f"{STACK}-emr-instance"
    assert json.dumps(service_role["AssumeRolePolicyDocument"]).count("elasticmapreduce") == 1
    assert "ec2.amazonaws.com" in json.dumps(instance_role["AssumeRolePolicyDocument"])

    assert cluster["Instances"]["Ec2SubnetId"] == deployed.outputs["SubnetId"]
    fleets = instance_capacity(load_config(deployed.settings), CORE_NODES, spot=True)
    assert fleets["Ec2SubnetIds"] == [deployed.outputs["SubnetId"]]
    common = {
        key: value
        for key, value in cluster["Instances"].items()
        if key not in ("InstanceGroups", "Ec2SubnetId")
    }
    assert_valid("RunJobFlow", {**cluster, "Instances": {**common, **fleets}})
    configuration = deployed.emr.describe_security_configuration(
        Name=cluster["SecurityConfiguration"]
    )["SecurityConfiguration"]
    # moto's CloudFormation keeps the template's object as Python's repr of it, not JSON.
    configuration = ast.literal_eval(configuration)
    imds = configuration["InstanceMetadataServiceConfiguration"]
    assert imds["MinimumInstanceMetadataServiceVersion"] == 2
    encryption = configuration["EncryptionConfiguration"]
    assert encryption["EnableAtRestEncryption"] is deployed.at_rest_encryption

    uris = s3_uris(cluster) + s3_uris(steps)
    assert {uri.split("/")[0] for uri in uris} == {BUCKET}
    deployed.s3.head_bucket(Bucket=BUCKET)
    emrfs = next(c for c in cluster["Configurations"] if c["Classification"] == "emrfs-site")
    assert emrfs["Properties"]["fs.s3.enableServerSideEncryption"] == "true"


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


def allowed(policy: dict, action: str, resource: str) -> bool:
    """Whether an Allow statement names action and a resource pattern matching resource."""
    return any(
        statement["Effect"] == "Allow"
        and action in as_list(statement["Action"])
        and any(
            fnmatch.fnmatchcase(resource, pattern) for pattern in as_list(statement["Resource"])
        )
        for statement in policy["Statement"]
    )


def test_the_nodes_may_read_every_input_and_write_every_output_the_steps_name(
    deployed, cluster_request
):
    cluster, steps = cluster_request
    policy = deployed.policy(f"{STACK}-emr-instance")
    arn = f"arn:aws:s3:::{BUCKET}/"
    for uri in s3_uris(cluster["BootstrapActions"]) + s3_uris(steps):
        key = uri.removeprefix(f"{BUCKET}/").split("{{")[0]
        assert allowed(policy, "s3:GetObject", arn + key + "x"), uri
    for prefix in ("features/", "pca/"):
        for action in ("s3:PutObject", "s3:DeleteObject"):
            assert allowed(policy, action, f"{arn}{prefix}model=x/part-0.parquet")
    assert allowed(policy, "s3:PutObject", f"{arn}emr-logs/j-1/steps/s-1/stdout.gz")
    # Nothing else: the photos cannot be changed or hidden, only erased version by version;
    # the job code not even that.
    for action in ("s3:PutObject", "s3:DeleteObject"):
        assert not allowed(policy, action, f"{arn}images/Banana/1.jpg")
    assert allowed(policy, "s3:DeleteObjectVersion", f"{arn}images/Banana/1.jpg")
    for action in ("s3:PutObject", "s3:DeleteObject"):
        assert not allowed(policy, action, f"{arn}artifacts/jobs/fruits_featurize.py")
        assert not allowed(policy, action, f"{arn}erasure/requests/r-1.json")


def test_airflow_may_touch_only_tagged_clusters_and_pass_only_the_two_roles(
    deployed, cluster_request
):
    cluster, _ = cluster_request
    policy = deployed.policy(f"{STACK}-airflow")
    statements = {statement["Sid"]: statement for statement in policy["Statement"]}
    tag_condition = statements["CreateTaggedClustersOnly"]["Condition"]["StringEquals"]
    assert tag_condition == {f"aws:RequestTag/{CLUSTER_TAG['Key']}": CLUSTER_TAG["Value"]}
    assert CLUSTER_TAG in cluster["Tags"]
    run_condition = statements["RunTaggedClustersOnly"]["Condition"]["StringEquals"]
    assert run_condition == {f"aws:ResourceTag/{CLUSTER_TAG['Key']}": CLUSTER_TAG["Value"]}
    passed = set(statements["PassTheTwoEmrRoles"]["Resource"])
    role_arns = {
        deployed.iam.get_role(RoleName=name)["Role"]["Arn"]
        for name in (f"{STACK}-emr-service", f"{STACK}-emr-instance")
    }
    assert passed == role_arns
    watched = statements["WatchTheImagesPrefix"]["Condition"]["StringLike"]["s3:prefix"]
    assert "images/" in watched
    actions = {
        action for statement in policy["Statement"] for action in as_list(statement["Action"])
    }
    assert not any(action.endswith("*") for action in actions)


def template_resource(name: str) -> dict:
    template, errors = decode(str(TEMPLATE))
    assert not errors
    return template["Resources"][name]


def test_the_bucket_is_encrypted(deployed):
    rule = deployed.s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]
    assert rule["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"


# moto's CloudFormation applies a bucket's encryption and tags only, and no bucket policy: the
# rest is read from the template, whose properties cfn-lint checks against CloudFormation's spec.
def test_the_bucket_is_private_versioned_and_expires_logs():
    bucket = template_resource("DataBucket")
    assert bucket["DeletionPolicy"] == "Retain"
    properties = bucket["Properties"]
    block = properties["PublicAccessBlockConfiguration"]
    assert len(block) == 4
    assert all(block.values())
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    rules = {rule["Id"]: rule for rule in properties["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-emr-logs"]["Prefix"] == "emr-logs/"
    assert rules["expire-emr-logs"]["ExpirationInDays"] == {"Ref": "LogRetentionDays"}
    # What an erasure rewrites lives on as a noncurrent version for a day at most.
    shortest = {
        rule["Prefix"]: rule["NoncurrentVersionExpiration"]["NoncurrentDays"]
        for rule in rules.values()
        if "Prefix" in rule and "NoncurrentVersionExpiration" in rule
    }
    assert shortest == {"emr-logs/": 1, "features/": 1, "pca/": 1, "erasure/requests/": 1}


def test_the_bucket_policy_refuses_plain_http():
    policy = template_resource("DataBucketPolicy")["Properties"]["PolicyDocument"]
    (statement,) = policy["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Action"] == "s3:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert len(statement["Resource"]) == 2  # the bucket and every object in it


def test_parliament_finds_nothing_in_the_stacks_policies(deployed):
    names = [f"{STACK}-airflow", f"{STACK}-emr-instance", f"{STACK}-emr-service-pass-role"]
    for name in names:
        findings = analyze_policy_string(json.dumps(deployed.policy(name))).findings
        assert findings == [], (name, [(f.issue, f.detail) for f in findings])


def test_parliament_catches_a_misspelled_or_mismatched_policy():
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "arn:aws:s3:::b/*"},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b"},
        ],
    }
    issues = {finding.issue for finding in analyze_policy_string(json.dumps(policy)).findings}
    assert {"UNKNOWN_ACTION", "RESOURCE_MISMATCH"} <= issues


SUMMARY = "features/_summary/model=mobilenet_v2/ingest_date=2026-11-20.json"
MANIFEST = "pca/model=mobilenet_v2/_LATEST"
STEP_LOGS = "emr-logs/j-1/steps/s-1/"


def test_under_iam_enforcement_the_airflow_policy_reads_what_the_dag_reads_and_no_more(
    deployed, monkeypatch
):
    """moto checks the deployed policy on each call (enable_iam_authentication), made with
    the plugin's own readers: the asset events' summary and _LATEST, a failed step's logs.
    The photos and the feature rows stay out of reach. moto does not evaluate s3:prefix
    conditions, so the ListBucket statements are checked by test_airflow_may_touch_only_...
    """
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from fruit_pipeline.assets import read_json
    from fruit_pipeline.step_failures import log_tails

    for key, body in {
        SUMMARY: b'{"featurized": 3}',
        MANIFEST: b'{"version": "v=1"}',
        f"artifacts/{NODE_ENV_MANIFEST}": b'{"python": "3.11"}',
        "artifacts/jobs/fruits_featurize.py": b"",
        f"{STEP_LOGS}stdout.gz": gzip.compress(b"featurize failed: model file\n"),
        "features/model=mobilenet_v2/ingest_date=2026-11-20/part-0.parquet": b"PAR1",
        "images/Pear/1.jpg": b"\xff\xd8",
    }.items():
        deployed.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    deployed.iam.create_user(UserName="airflow")
    deployed.iam.attach_user_policy(
        UserName="airflow", PolicyArn=f"arn:aws:iam::123456789012:policy/{STACK}-airflow"
    )
    key = deployed.iam.create_access_key(UserName="airflow")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    hook = S3Hook(aws_conn_id=None, region_name=REGION)

    with enable_iam_authentication():
        assert read_json(hook, f"s3://{BUCKET}/{SUMMARY}") == {"featurized": 3}
        assert read_json(hook, f"s3://{BUCKET}/{MANIFEST}") == {"version": "v=1"}
        assert read_json(hook, f"s3://{BUCKET}/artifacts/{NODE_ENV_MANIFEST}") == {"python": "3.11"}
        tail = log_tails(hook, f"s3://{BUCKET}/{STEP_LOGS}", wait_seconds=0)
        assert "    featurize failed: model file" in tail
        for private in (
            "features/model=mobilenet_v2/ingest_date=2026-11-20/part-0.parquet",
            "images/Pear/1.jpg",
            "pca/model=mobilenet_v2/v=1/part-0.parquet",
            "artifacts/jobs/fruits_featurize.py",
        ):
            with pytest.raises(ClientError, match=r"AccessDenied|403|Forbidden"):
                hook.get_conn().get_object(Bucket=BUCKET, Key=private)


def test_under_iam_enforcement_airflow_publishes_alerts_to_the_stacks_topic_only(
    deployed, monkeypatch
):
    """The DAG's own notifier, with a user holding only the deployed Airflow policy. moto
    checks SNS calls against "*" unless told their resource: here, the topic published to."""
    from moto.sns.responses import SNSResponse

    from fruit_pipeline.alerts import failure_alerts
    from fruit_pipeline.config import load_config

    topic = deployed.outputs["AlertsTopicArn"]
    sns = boto3.client("sns", region_name=REGION)
    other_topic = sns.create_topic(Name="someone-elses-topic")["TopicArn"]
    user = "airflow-alerts"
    deployed.iam.create_user(UserName=user)
    deployed.iam.attach_user_policy(
        UserName=user, PolicyArn=f"arn:aws:iam::123456789012:policy/{STACK}-airflow"
    )
    key = deployed.iam.create_access_key(UserName=user)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.setattr(
        SNSResponse,
        "_determine_resource",
        lambda response: response._get_param("TopicArn") or response._get_param("TargetArn"),
        raising=False,
    )

    def notifier(arn: str):
        config = load_config({"FRUITS_ALERTS_TOPIC_ARN": arn, "FRUITS_AWS_CONN_ID": "none"})
        (alert,) = failure_alerts(config)
        alert.aws_conn_id = None  # the environment's keys: the policy's user
        alert.message, alert.subject = "a run failed", "fruit_features: a task failed"
        return alert

    with enable_iam_authentication():
        notifier(topic).notify({})
        with pytest.raises(ClientError, match=r"AccessDenied|not authorized"):
            notifier(other_topic).notify({})


def staged_output(arguments: list[str]) -> Path:
    (output,) = [argument for argument in arguments if argument.startswith("--output=file://")]
    return Path(output.removeprefix("--output=file://"))


def test_under_iam_enforcement_the_nodes_read_and_write_what_the_steps_do_and_no_more(
    deployed, cluster_request, tmp_path
):
    """The DAG's rendered bootstrap and steps, staged and synced back by the local AWS's own
    Stager (the GETs, LISTs, PUTs and DELETEs of a step's inputs and outputs) with the keys
    of a user holding only the nodes' policy, checked by moto on every request."""
    cluster, steps = cluster_request
    earlier = {
        "images/Pear/1.jpg": b"\xff\xd8",
        "features/model=mobilenet_v2/ingest_date=2026-11-19/part-0.parquet": b"PAR1",
        "features/_summary/model=mobilenet_v2/ingest_date=2026-11-19.json": b"{}",
        "pca/model=mobilenet_v2/_LATEST": b'{"version": "v=1"}',
        "pca/model=mobilenet_v2/v=1/part-0.parquet": b"PAR1",
    }
    deployed_artifacts = {
        uri.removeprefix(f"{BUCKET}/"): b"artifact"
        for uri in s3_uris(cluster["BootstrapActions"]) + s3_uris(steps)
        if "/artifacts/" in f"/{uri}" and not uri.endswith("/")
    }
    for key, body in {**earlier, **deployed_artifacts}.items():
        deployed.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    deployed.iam.create_user(UserName="node")
    deployed.iam.attach_user_policy(
        UserName="node", PolicyArn=f"arn:aws:iam::123456789012:policy/{STACK}-emr-instance"
    )
    key = deployed.iam.create_access_key(UserName="node")["AccessKey"]
    node = boto3.client(
        "s3",
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )

    with enable_iam_authentication():
        for uri in s3_uris(cluster["BootstrapActions"]):  # EMR fetches them as the nodes
            node.get_object(Bucket=BUCKET, Key=uri.removeprefix(f"{BUCKET}/"))
        for step in steps:
            stager = Stager(node, tmp_path / step["Name"])
            output = staged_output(stager.stage_arguments(step["HadoopJarStep"]["Args"][1:]))
            written = sorted(path for path in output.rglob("*.parquet"))
            written[0].unlink()  # a rerun replaces its partition
            (output / "model=mobilenet_v2" / "new" / "part-1.parquet").parent.mkdir(parents=True)
            (output / "model=mobilenet_v2" / "new" / "part-1.parquet").write_bytes(b"PAR1")
            assert stager.sync_back() == {"uploaded": 1, "deleted": 1}
        for refused in (
            lambda: node.put_object(Bucket=BUCKET, Key="images/Pear/2.jpg", Body=b""),
            lambda: node.delete_object(Bucket=BUCKET, Key="images/Pear/1.jpg"),
            lambda: node.put_object(
                Bucket=BUCKET, Key="artifacts/jobs/fruits_featurize.py", Body=b""
            ),
            lambda: node.delete_object(Bucket=BUCKET, Key="emr-logs/j-1/steps/s-1/stdout.gz"),
        ):
            with pytest.raises(ClientError, match="AccessDenied"):
                refused()


def test_under_iam_enforcement_the_nodes_apply_an_erasure_and_airflow_completes_it(
    deployed, monkeypatch
):
    """The erase step's S3 calls (its own functions) with the nodes' policy, then the DAG's
    completion with Airflow's, each checked by moto on every request."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from fruit_pipeline.erasure import complete_requests
    from fruitspark.erase import images, requests

    # As the template sets it (moto's CloudFormation does not apply it).
    deployed.s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    for body in (b"\xff\xd8 first", b"\xff\xd8 again"):
        deployed.s3.put_object(Bucket=BUCKET, Key="images/Pear/erased.jpg", Body=body)
    deployed.s3.put_object(
        Bucket=BUCKET,
        Key="erasure/requests/r-1.json",
        Body=json.dumps({"images": ["images/Pear/erased.jpg"]}).encode(),
    )
    clients = {}
    for user in ("node", "airflow"):
        deployed.iam.create_user(UserName=f"{user}-erasing")
        policy = f"{STACK}-emr-instance" if user == "node" else f"{STACK}-airflow"
        deployed.iam.attach_user_policy(
            UserName=f"{user}-erasing", PolicyArn=f"arn:aws:iam::123456789012:policy/{policy}"
        )
        clients[user] = deployed.iam.create_access_key(UserName=f"{user}-erasing")["AccessKey"]
    node = boto3.client(
        "s3",
        region_name=REGION,
        aws_access_key_id=clients["node"]["AccessKeyId"],
        aws_secret_access_key=clients["node"]["SecretAccessKey"],
    )

    with enable_iam_authentication():
        (pending,) = requests.pending_requests(node, BUCKET, "erasure/", "images/")
        assert pending.images == ("images/Pear/erased.jpg",)
        assert requests.read_applied(node, BUCKET, "erasure/", pending.id) is None
        stored = images.versions_of(node, BUCKET, list(pending.images))
        found = {"images": 1, "image_versions": 2, "feature_rows": 0, "rejections": 0}
        found |= {"pca_rows": 0}
        record = requests.applied_record(pending, {"d": found}, {}, "scheduled__x", None)
        record |= {"complete": True, "verification": {"checked_at": "now", "traces": {}}}
        requests.write_applied(node, BUCKET, "erasure/", record)
        assert images.delete_versions(node, BUCKET, stored) == 2
        for refused in (
            lambda: node.delete_object(Bucket=BUCKET, Key="erasure/requests/r-1.json"),
            lambda: node.put_object(Bucket=BUCKET, Key="erasure/done/r-1.json", Body=b"{}"),
        ):
            with pytest.raises(ClientError, match="AccessDenied"):
                refused()

        monkeypatch.setenv("AWS_ACCESS_KEY_ID", clients["airflow"]["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", clients["airflow"]["SecretAccessKey"])
        hook = S3Hook(aws_conn_id=None, region_name=REGION)
        totals = complete_requests(hook, f"s3://{BUCKET}/erasure/", "scheduled__x")
        assert totals["requests"] == 1
        with pytest.raises(ClientError, match=r"AccessDenied|403|Forbidden"):
            hook.get_conn().get_object(Bucket=BUCKET, Key="erasure/done/r-1.json")

    assert not deployed.s3.list_object_versions(Bucket=BUCKET, Prefix="images/Pear/erased.jpg").get(
        "Versions"
    )
    done = json.loads(
        deployed.s3.get_object(Bucket=BUCKET, Key="erasure/done/r-1.json")["Body"].read()
    )
    assert (done["request"], done["status"], done["run_id"]) == ("r-1", "erased", "scheduled__x")
    assert "images/Pear" not in json.dumps(done)
    remaining = deployed.s3.list_objects_v2(Bucket=BUCKET, Prefix="erasure/")["Contents"]
    assert [item["Key"] for item in remaining] == ["erasure/done/r-1.json"]
