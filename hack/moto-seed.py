#!/usr/bin/env python3
"""Creates the EC2 network the ECS tests need in moto: a VPC, two subnets, one security group.

Idempotent: reuses resources tagged ecs-controller=local if they already exist.
Prints shell assignments (KEY=value, one per line) for hack/env-up.sh to capture.
Run with the moto venv's python (it has boto3); needs AWS_ENDPOINT_URL and AWS_REGION.
"""
import os

import boto3

TAG = {"Key": "ecs-controller", "Value": "local"}
region = os.environ.get("AWS_REGION", "us-east-1")
ec2 = boto3.client(
    "ec2",
    endpoint_url=os.environ["AWS_ENDPOINT_URL"],
    region_name=region,
    aws_access_key_id="testing",
    aws_secret_access_key="testing",
)
tagged = [{"Name": "tag:ecs-controller", "Values": ["local"]}]


def tags(kind, name):
    return [{"ResourceType": kind, "Tags": [TAG, {"Key": "Name", "Value": name}]}]


vpcs = ec2.describe_vpcs(Filters=tagged)["Vpcs"]
if vpcs:
    vpc_id = vpcs[0]["VpcId"]
else:
    vpc_id = ec2.create_vpc(CidrBlock="10.42.0.0/16", TagSpecifications=tags("vpc", "ecs-controller-local"))["Vpc"]["VpcId"]

# RunTask in an awsvpc subnet needs DNS hostnames on the VPC in moto (HTTP 500 otherwise), as tasks
# in a real VPC need them for private DNS names.
ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})

vpc_filter = tagged + [{"Name": "vpc-id", "Values": [vpc_id]}]
found = ec2.describe_subnets(Filters=vpc_filter)["Subnets"]
subnets = [s["SubnetId"] for s in sorted(found, key=lambda s: s["AvailabilityZone"])]
if not subnets:
    for i, az in enumerate(("a", "b"), start=1):
        s = ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.42.{i}.0/24", AvailabilityZone=region + az,
                              TagSpecifications=tags("subnet", f"ecs-controller-local-{az}"))
        subnets.append(s["Subnet"]["SubnetId"])

sgs = ec2.describe_security_groups(Filters=vpc_filter)["SecurityGroups"]
if sgs:
    sg_id = sgs[0]["GroupId"]
else:
    sg_id = ec2.create_security_group(GroupName="ecs-controller-local", Description="ecs-controller local tests",
                                      VpcId=vpc_id, TagSpecifications=tags("security-group", "ecs-controller-local"))["GroupId"]

print(f"ECS_TEST_VPC={vpc_id}")
print(f"ECS_TEST_SUBNETS={','.join(subnets)}")
print(f"ECS_TEST_SECURITY_GROUPS={sg_id}")
