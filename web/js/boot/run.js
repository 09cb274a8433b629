// Starts the run page. A file, not an inline <script>: the Content-Security-Policy
// allows only the server's own script files (server/fitwatch_server/api/headers.py).

import { startSession } from "../session.js";
import { mount } from "../pages/run.js";

startSession();
mount(document.body);
