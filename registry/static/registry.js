// Starts the NHS.UK frontend components. Loaded by layout.html as an ES module, and only
// when scripts/install-frontend has put the bundle in /static/nhsuk/.
//
// NHS.UK's page template does the first step in an inline <script>; the registry's CSP
// (script-src 'self') forbids inline scripts, so it is done here instead. Modules only run
// in browsers that support them, which is exactly what "nhsuk-frontend-supported" means.
import { initAll } from "./nhsuk/nhsuk-frontend.min.js";

document.body.classList.add("js-enabled", "nhsuk-frontend-supported");
initAll();
