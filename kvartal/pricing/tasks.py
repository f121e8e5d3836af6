"""Jobs of pricing: thin doors into the services (ids in, idempotent), and the periodic ones
registered with the scheduler (``kvartal.core.jobs.register_periodic``)."""

from datetime import timedelta

from kvartal.core.jobs import job, register_periodic

from . import services
from .models import Batch


@job()
def batch_apply(batch_id: int) -> None:
    """Apply one scheduled batch if it is due (a batch applied or withdrawn meanwhile is left)."""
    batch = Batch.objects.filter(pk=batch_id).first()
    if batch is not None:
        services.batch_apply_due(batch=batch)


def batches_apply_due() -> int:
    """Apply every scheduled batch whose moment has come (each under its own lock)."""
    count = 0
    for batch in services.batches_due():
        count += services.batch_apply_due(batch=batch)
    return count


def recommendations_compute() -> int:
    """Today's recommendations of every active rule into the approval queue's inbox."""
    return services.recommendations_compute()


register_periodic("pricing-apply-due", batches_apply_due, every=timedelta(minutes=1))
register_periodic("pricing-recommend", recommendations_compute, cron={"hour": 6, "minute": 0})


@job(retries=0)  # a broken file fails the same way every time
def import_check_job(run_id: int) -> None:
    from . import imports
    from .models import ImportRun

    run = ImportRun.objects.filter(pk=run_id).first()
    if run is not None:
        imports.import_check(run=run)


@job(retries=0)
def import_apply_job(run_id: int, user_id: int) -> None:
    from kvartal.accounts.models import User

    from . import imports
    from .models import ImportRun

    run = ImportRun.objects.filter(pk=run_id).first()
    if run is not None:
        imports.import_apply(run=run, by=User.objects.filter(pk=user_id).first())
