"""The display-only executor of `ops plan`: the steps apply or destroy would take, printed.

It runs the planner's very list (`ops.deploy.steps`) that `ops.deploy.execute.Perform` runs. Its
only calls are the ones a plan needs to be honest: the change set is created (CloudFormation
alone knows what it would change), summarised and deleted again, never executed; a template
over the inline limit is put in the (existing) artifact bucket so CloudFormation can read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ops.deploy.run import Done, Run
from ops.deploy.steps import ChangeSet, Recover, Step, UploadTemplate
from ops.deploy.summary import RegionResult, counts


@dataclass
class Show(Run):
    """Each step `ops apply`/`ops destroy` would perform, on the console; nothing executed."""

    def finished(self) -> RegionResult:
        if self.summary is None:  # a destroy: nothing was asked of CloudFormation
            return RegionResult(self.region, "planned", 0, f"would delete {self.stack}")
        return RegionResult(self.region, "planned", 0, counts(self.summary.changes))

    def would(self, step: Step) -> Done:
        self.console.line(f"  would {step.describe()}")
        return None

    def on_recover(self, step: Recover) -> Done:
        self.console.line(step.message)
        self.console.line(f"  would {step.describe()}")
        return RegionResult(self.region, f"apply would {step.action}")

    def on_upload_template(self, _step: UploadTemplate) -> Done:
        self.template_location(create=False)  # CloudFormation reads the template from there
        return None

    def on_change_set(self, step: ChangeSet) -> Done:
        summary = self.create_change_set(step.type)
        self.discard()
        return self.unusable(summary)

    on_confirm = on_upload_code = on_execute = on_protect = on_delete = would
