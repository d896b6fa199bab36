"""ops: housekeeping Lambdas for an AWS estate, declared in one config file, deployed with
CloudFormation."""

__version__ = "0.1.0"
