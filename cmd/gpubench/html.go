package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"io"
	"strings"
)

// pageCSS styles the HTML report; it is inline, like everything the page needs, so the file stands
// alone (no fonts, scripts or images from elsewhere).
const pageCSS = `
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #111; margin: 2em auto; max-width: 72em; padding: 0 1.5em; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
h2 { font-size: 1.2em; margin: 1.6em 0 .4em; border-bottom: 1px solid #ccc; }
p.note { color: #444; font-size: .9em; }
ul { margin: .15em 0; padding-left: 1.4em; }
ul.l1 { padding-left: 3em; }
figure { margin: 1em 0; }
figure img { width: 100%; max-width: 60em; height: auto; display: block; }
figcaption { font-size: .9em; color: #444; max-width: 60em; }
div.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .85em; margin: .5em 0; }
th, td { padding: .15em .6em; border-bottom: 1px solid #e4e4e4; white-space: nowrap; text-align: left; }
th { background: #f3f3f3; position: sticky; top: 0; }
.r { text-align: right; font-variant-numeric: tabular-nums; }
footer { margin-top: 2em; font-size: .8em; color: #666; }
code { font-size: .95em; }
`

// writeHTML writes one self-contained page: what was measured where, the summary (with any
// mismatches and errors first, then any comparison), the figure, and the tables.
func writeHTML(w io.Writer, rep *Report, ref *reference) error {
	var b bytes.Buffer
	d := doc{w: &b, html: true}
	var devs []string
	for _, dev := range rep.Devices {
		devs = append(devs, dev.Backend+" ("+dev.Name+")")
	}
	title := "gpubench: gpuact's activation passes on " + strings.Join(devs, ", ")
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n",
		html.EscapeString(title), pageCSS)
	fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(title))
	writeHeader(d, rep)
	writeProblems(d, rep)
	writeSummary(d, rep)
	if ref != nil {
		writeCompare(d, rep, ref)
	}
	d.heading("Figure")
	// The figure as a PNG data URI: drawn with the fonts it was laid out with, whatever the browser has.
	if img, err := figure(rep, "png"); err != nil {
		d.para("No figure: " + err.Error() + ".")
	} else {
		fmt.Fprintf(&b, "<figure>\n<img alt=\"GB/s against n, one panel per pass\" src=\"data:image/png;base64,%s\">\n<figcaption>%s</figcaption>\n</figure>\n",
			base64.StdEncoding.EncodeToString(img), html.EscapeString(
				"Effective bandwidth (GB/s) against n for every pass, activation and dtype, with the p10–p90 spread of the samples; "+
					"the grey line is the roofline (100%), the dotted line the device's own copy."))
	}
	writeRows(d, rep)
	writeSideBySide(d, rep)
	fmt.Fprintf(&b, "<footer>%s</footer>\n</body>\n</html>\n", html.EscapeString(
		fmt.Sprintf("%s — %s on %s, %s%s", rep.Command, rep.Date, rep.Host, rep.Go, prefixed(", gpuact ", rep.Version))))
	_, err := w.Write(b.Bytes())
	return err
}
