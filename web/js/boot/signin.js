// Starts the sign-in page (a file, not an inline script: see boot/runs.js).

import { mount } from "../pages/signin.js";

mount(document.body);
