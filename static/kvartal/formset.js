// "Add a row" for Django formsets: clones the formset's empty form and bumps TOTAL_FORMS.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-formset-add]");
  if (!button) return;
  const prefix = button.dataset.formsetAdd;
  const total = document.getElementById(`id_${prefix}-TOTAL_FORMS`);
  const template = document.getElementById(`${prefix}-empty`);
  const body = document.getElementById(`${prefix}-rows`);
  const index = Number(total.value);
  body.insertAdjacentHTML("beforeend", template.innerHTML.replaceAll("__prefix__", index));
  total.value = index + 1;
});
