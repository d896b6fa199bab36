"""The deployer: S3 upload of `<prefix><stage>/<function>.zip` -> code, version and stage alias."""
