// Starts the compare page. A file, not an inline <script>: the Content-Security-Policy
// allows only the server's own script files (server/fitwatch_server/api/headers.py).
//
// The page's first reads go out before the rest of the page is imported (a static import
// would wait for every module of the page to load): the server reads the series while the
// browser loads the page (compare_first_reads.js).

import { startFirstReads } from "../pages/compare_first_reads.js";

startFirstReads();
const [{ startSession }, { mount }] = await Promise.all([import("../session.js"), import("../pages/compare.js")]);
startSession();
mount(document.body);
