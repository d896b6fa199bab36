"""ops: housekeeping Lambdas for an AWS estate, declared in one config file, deployed with
CloudFormation."""

__version__ = "0.1.0"
CONFIG_ENV = "OPS_CONFIG"  # the config file when --config is not given (ops.config reads it)
