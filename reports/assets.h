/*
 * assets: the HTML report's stylesheet and script (the files in reports/assets), compiled
 * into the binary by cmake/embed.cmake. The strings are static.
 */
#ifndef EG_ASSETS_H
#define EG_ASSETS_H

/* the text of reports/assets/NAME ("report.css", "report.js"), or NULL */
const char *report_asset(const char *name);

#endif
