"""The writers of imports: upload, check (the dry run, a job with progress), apply (a job).

Views and commands call these; the jobs in ``tasks.py`` are thin doors into them.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from kvartal.accounts.permissions import INVENTORY_EDIT, PRICING_PROPOSE, has_capability
from kvartal.core import uploads
from kvartal.core.jobs import enqueue_on_commit

from . import transfer
from .models import ImportKind, ImportRun, ImportStatus
from .services import NotAllowed

ERRORS_KEPT = 2000
PREVIEW_KEPT = 500


def _may_import(user, kind: str) -> bool:
    needed = [PRICING_PROPOSE] + ([INVENTORY_EDIT] if kind == ImportKind.INVENTORY else [])
    return all(has_capability(user, c) for c in needed)


@transaction.atomic
def import_start(*, kind: str, upload, by) -> ImportRun:
    """Keep the uploaded file and queue its dry run. Raises ``NotAllowed`` for a user who may
    not import this kind, ``ValidationError`` for another format or a file over the limit."""
    if kind not in ImportKind.values:
        raise ValidationError({"kind": _("Choose what the file holds.")})
    if not _may_import(by, kind):
        raise NotAllowed(_("You may not import this."))
    name = upload.name or ""
    if not name.lower().endswith((".xlsx", ".csv", ".txt")):
        raise ValidationError({"file": _("Upload an .xlsx workbook or a .csv file.")})
    if upload.size > transfer.max_bytes():
        raise ValidationError(
            {
                "file": _("The file is %(size)s MB; the limit is %(limit)s MB.")
                % {
                    "size": round(upload.size / 1024 / 1024, 1),
                    "limit": transfer.max_bytes() // 1024 // 1024,
                }
            }
        )
    try:  # an .xlsx or a .csv by its content (a renamed page or program is refused)
        clean = uploads.check(upload, ImportRun._meta.get_field("file").kinds)
    except ValidationError as error:
        raise ValidationError({"file": error.messages}) from None
    if name.lower().endswith(".xlsx") and not clean.name.endswith(".xlsx"):
        raise ValidationError({"file": _("This is not a readable .xlsx workbook.")})
    run = ImportRun(kind=kind, filename=name[:255], created_by=by)
    run.file.save(clean.name, clean, save=False)
    run.save()
    from .tasks import import_check_job

    enqueue_on_commit(import_check_job, run.pk)
    return run


def _progress(run_id: int):
    def report(done: int) -> None:
        ImportRun.objects.filter(pk=run_id).update(done_rows=done)

    return report


def _check(run: ImportRun) -> transfer.Check:
    with run.file.open("rb") as stream:
        # the stored name's extension is the format found by content
        return transfer.check(stream, run.file.name, run.kind, progress=_progress(run.pk))


def import_check(*, run: ImportRun) -> ImportRun:
    """The dry run (the job's door): every row's action and every error with its row and
    column, progress written as it goes. Writes only the run's own row."""
    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.CHECKING, done_rows=0)
    try:
        result = _check(run)
    except transfer.ImportFileError as error:
        ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.FAILED, message=str(error))
        run.refresh_from_db()
        return run
    errors = result.errors
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportStatus.CHECKED,
        done_rows=len(result.rows),
        total_rows=len(result.rows),
        summary=result.summary() | {"errors": len(errors)},
        errors=[list(e) for e in errors[:ERRORS_KEPT]],
        preview=[
            [r.row, r.action, r.key, str(r.detail)] for r in result.rows if r.action != "same"
        ][:PREVIEW_KEPT],
        message="",
    )
    run.refresh_from_db()
    return run


@transaction.atomic
def import_apply_start(*, run: ImportRun, by, valid_only: bool) -> ImportRun:
    """Queue the writing of a checked file: all of it (only when it has no errors) or, when
    the user chose so explicitly, its valid rows. Raises ``NotAllowed`` or
    ``ValidationError`` (nothing queued)."""
    if not _may_import(by, run.kind):
        raise NotAllowed(_("You may not import this."))
    run = ImportRun.objects.select_for_update().get(pk=run.pk)
    if run.status != ImportStatus.CHECKED:
        raise ValidationError(_("The file is not checked yet, or was applied already."))
    if run.summary.get("errors") and not valid_only:
        raise ValidationError(
            _("The file has %(n)s errors: correct them, or apply only the valid rows.")
            % {"n": run.summary["errors"]}
        )
    run.status, run.valid_only = ImportStatus.APPLYING, valid_only
    run.save(update_fields=["status", "valid_only"])
    from .tasks import import_apply_job

    enqueue_on_commit(import_apply_job, run.pk, by.pk)
    return run


def import_apply(*, run: ImportRun, by) -> ImportRun:
    """Write the file (the job's door): checked again first — the data may have moved since
    the dry run — then all or the valid rows in one transaction. A refusal writes nothing
    and leaves the message on the run."""
    if run.status != ImportStatus.APPLYING:
        return run  # applied or refused already: idempotent
    try:
        result = _check(run)
        written = transfer.apply(result, by=by, valid_only=run.valid_only)
    except (transfer.ImportFileError, transfer.ImportRefused, ValidationError) as error:
        message = "; ".join(getattr(error, "messages", None) or [str(error)])
        ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.CHECKED, message=message)
    else:
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportStatus.APPLIED, result=written, message=""
        )
    ImportRun.objects.filter(pk=run.pk).update(done_rows=F("total_rows"))
    run.refresh_from_db()
    return run
