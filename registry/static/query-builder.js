// The eligibility query page, enhanced where JavaScript runs: a clause row's values follow
// its field at once (a coded field's checkboxes, by their labels; a typed value with its
// limits), and clauses are added and removed without a reload. Without JavaScript the same
// form posts to the server for each of these (registry/web/eligibility/views.py `edit`), so
// this module only saves round trips: it never decides what the criteria mean.

const form = document.querySelector("form[action$='/eligibility/count']");

const ROW_NAME = /clauses-\d+-/g;
const MAX_CLAUSES = 50; // as registry/eligibility/criteria.py; past it the server says so

function rows() {
  return [...form.querySelectorAll("fieldset[data-clause]")];
}

// Renames a row's controls to its place in the list: clauses-<index>-field, and so on.
function renumber(row, index) {
  for (const element of row.querySelectorAll("[name], [id], [for], [aria-describedby]")) {
    for (const attribute of ["name", "id", "for", "aria-describedby"]) {
      const value = element.getAttribute(attribute);
      if (value) {
        element.setAttribute(attribute, value.replace(ROW_NAME, `clauses-${index}-`));
      }
    }
  }
  row.querySelector("legend").textContent = `Clause ${index + 1}`;
  const remove = row.querySelector("button[name='remove_clause']");
  remove.value = String(index);
  remove.textContent = `Remove clause ${index + 1}`;
}

function typedValue(index, hint) {
  const group = document.createElement("div");
  group.className = "nhsuk-form-group";
  const label = document.createElement("label");
  label.className = "nhsuk-label";
  label.htmlFor = `clauses-${index}-value`;
  label.textContent = "Value";
  group.append(label);
  if (hint) {
    const words = document.createElement("div");
    words.className = "nhsuk-hint";
    words.id = `clauses-${index}-value-hint`;
    words.textContent = hint;
    group.append(words);
  }
  const input = document.createElement("input");
  input.className = "nhsuk-input";
  input.type = "text";
  input.id = input.name = `clauses-${index}-value`;
  if (hint) {
    input.setAttribute("aria-describedby", `clauses-${index}-value-hint`);
  }
  group.append(input);
  return group;
}

// The row's value area for the field now chosen.
function showValues(row) {
  const index = rows().indexOf(row);
  const select = row.querySelector("[data-clause-field]");
  const area = row.querySelector("[data-clause-values]");
  const name = select.value;
  const template = name && form.querySelector(`template[data-values-for="${CSS.escape(name)}"]`);
  area.replaceChildren();
  if (template) {
    const copy = template.content.cloneNode(true);
    for (const element of copy.querySelectorAll("[name], [id], [for], [aria-describedby]")) {
      for (const attribute of ["name", "id", "for", "aria-describedby"]) {
        const value = element.getAttribute(attribute);
        if (value) {
          element.setAttribute(attribute, value.replaceAll("__ROW__", String(index)));
        }
      }
    }
    area.append(copy);
  } else {
    const option = select.selectedOptions[0];
    area.append(typedValue(index, option ? option.dataset.hint : ""));
  }
}

function addClause() {
  const all = rows();
  const last = all[all.length - 1];
  const row = last.cloneNode(true);
  for (const element of row.querySelectorAll(".nhsuk-error-message")) {
    element.remove();
  }
  for (const element of row.querySelectorAll(".nhsuk-form-group--error")) {
    element.classList.remove("nhsuk-form-group--error");
  }
  for (const select of row.querySelectorAll("select")) {
    select.value = "";
    select.classList.remove("nhsuk-select--error");
  }
  last.after(row);
  renumber(row, all.length);
  showValues(row);
  row.querySelector("[data-clause-field]").focus();
}

function removeClause(row) {
  const all = rows();
  if (all.length === 1) {
    for (const select of row.querySelectorAll("select")) {
      select.value = "";
    }
    showValues(row);
    return;
  }
  row.remove();
  rows().forEach(renumber);
  rows()[0].querySelector("[data-clause-field]").focus();
}

if (form) {
  // Shown only to browsers without this module: here the values follow the field at once.
  for (const button of form.querySelectorAll("[data-no-js-only]")) {
    button.remove();
  }
  form.addEventListener("change", (event) => {
    if (event.target.matches("[data-clause-field]")) {
      showValues(event.target.closest("fieldset[data-clause]"));
    }
  });
  form.addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) {
      return;
    }
    if (button.name === "add_clause" && rows().length < MAX_CLAUSES) {
      event.preventDefault();
      addClause();
    } else if (button.name === "remove_clause") {
      event.preventDefault();
      removeClause(button.closest("fieldset[data-clause]"));
    }
  });
}
