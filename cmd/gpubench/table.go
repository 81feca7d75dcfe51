package main

import (
	"fmt"
	"html"
	"io"
	"strings"
	"unicode/utf8"
)

// table is a grid of cells that prints aligned as text or as a markdown table.
type table struct {
	head  []string
	right []bool // right-align this column (numbers)
	rows  [][]string
}

func newTable(cols ...string) *table {
	t := &table{}
	for _, c := range cols {
		// A leading '>' marks a right-aligned column.
		name, r := strings.CutPrefix(c, ">")
		t.head = append(t.head, name)
		t.right = append(t.right, r)
	}
	return t
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) widths() []int {
	w := make([]int, len(t.head))
	for _, r := range append([][]string{t.head}, t.rows...) {
		for i, c := range r {
			w[i] = max(w[i], utf8.RuneCountInString(c))
		}
	}
	return w
}

func pad(s string, w int, right bool) string {
	fill := strings.Repeat(" ", max(0, w-utf8.RuneCountInString(s)))
	if right {
		return fill + s
	}
	return s + fill
}

// text writes the table with columns separated by two spaces, each line prefixed by indent.
func (t *table) text(w io.Writer, indent string) {
	ws := t.widths()
	for _, r := range append([][]string{t.head}, t.rows...) {
		var b strings.Builder
		b.WriteString(indent)
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			if i == len(r)-1 && !t.right[i] {
				b.WriteString(c) // no trailing blanks
				continue
			}
			b.WriteString(pad(c, ws[i], t.right[i]))
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// markdown writes the table in GitHub's pipe syntax.
func (t *table) markdown(w io.Writer) {
	esc := func(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
	line := func(cells []string) {
		var b strings.Builder
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + esc(c) + " |")
		}
		fmt.Fprintln(w, b.String())
	}
	line(t.head)
	sep := make([]string, len(t.head))
	for i := range sep {
		sep[i] = "---"
		if t.right[i] {
			sep[i] = "--:"
		}
	}
	fmt.Fprintln(w, "|"+strings.Join(sep, "|")+"|")
	for _, r := range t.rows {
		line(r)
	}
}

// doc is human-readable output: headings, paragraphs, tables and indented lines, rendered as plain
// text (the default format), markdown or HTML (escaped; html.go writes the page around it).
type doc struct {
	markdown bool
	html     bool
	w        io.Writer
}

func (d doc) heading(s string) {
	if d.html {
		fmt.Fprintf(d.w, "<h2>%s</h2>\n", html.EscapeString(s))
		return
	}
	if d.markdown {
		fmt.Fprintf(d.w, "\n### %s\n\n", s)
		return
	}
	fmt.Fprintf(d.w, "\n%s\n", s)
}

func (d doc) para(lines ...string) {
	if d.html {
		esc := make([]string, len(lines))
		for i, l := range lines {
			esc[i] = html.EscapeString(l)
		}
		fmt.Fprintf(d.w, "<p class=\"note\">%s</p>\n", strings.Join(esc, "<br>\n"))
		return
	}
	for _, l := range lines {
		if d.markdown {
			fmt.Fprintln(d.w, l+"  ") // two blanks: a markdown line break
			continue
		}
		fmt.Fprintln(d.w, l)
	}
	if d.markdown {
		fmt.Fprintln(d.w)
	}
}

// item writes a line at an indentation level (0, 1, ...): indented text, or a nested list item. Text
// is wrapped at textWidth columns, continuation lines indented two more.
func (d doc) item(level int, s string) {
	if d.html {
		fmt.Fprintf(d.w, "<ul class=\"l%d\"><li>%s</li></ul>\n", level, html.EscapeString(s))
		return
	}
	if d.markdown {
		fmt.Fprintf(d.w, "%s- %s\n", strings.Repeat("  ", level), s)
		return
	}
	indent := strings.Repeat("  ", level+1)
	for i, l := range wrap(s, textWidth-len(indent)-2) {
		if i > 0 {
			l = "  " + l
		}
		fmt.Fprintln(d.w, indent+l)
	}
}

// textWidth is the width plain-text paragraphs are wrapped at.
const textWidth = 120

// wrap cuts s into lines of at most width runes at spaces (a longer word stays whole).
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		switch {
		case line == "":
			line = w
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) > width:
			lines = append(lines, line)
			line = w
		default:
			line += " " + w
		}
	}
	return append(lines, line)
}

// table writes t; indent is its prefix in plain text (a table inside an item is indented).
func (d doc) table(t *table) { d.tableIndent(t, "") }

func (d doc) tableIndent(t *table, indent string) {
	if d.html {
		t.html(d.w)
		return
	}
	if d.markdown {
		fmt.Fprintln(d.w)
		t.markdown(d.w)
		fmt.Fprintln(d.w)
		return
	}
	t.text(d.w, indent)
}

// html writes the table as an HTML table, numbers right-aligned.
func (t *table) html(w io.Writer) {
	cell := func(tag string, i int, c string) string {
		if t.right[i] {
			return fmt.Sprintf("<%s class=\"r\">%s</%s>", tag, html.EscapeString(c), tag)
		}
		return fmt.Sprintf("<%s>%s</%s>", tag, html.EscapeString(c), tag)
	}
	var b strings.Builder
	b.WriteString("<div class=\"scroll\"><table>\n<thead><tr>")
	for i, h := range t.head {
		b.WriteString(cell("th", i, h))
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	for _, r := range t.rows {
		b.WriteString("<tr>")
		for i, c := range r {
			b.WriteString(cell("td", i, c))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody></table></div>\n")
	fmt.Fprint(w, b.String())
}

func fmtNs(ns float64) string {
	switch {
	case ns <= 0:
		return "-"
	case ns < 1e3:
		return fmt.Sprintf("%.0fns", ns)
	case ns < 1e6:
		return trimG(ns/1e3) + "µs"
	case ns < 1e9:
		return trimG(ns/1e6) + "ms"
	}
	return trimG(ns/1e9) + "s"
}

// trimG formats v (1 ≤ v < 1000) with 3 significant digits.
func trimG(v float64) string {
	switch {
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 100:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func fmtGBps(v float64) string {
	switch {
	case v <= 0:
		return "-"
	case v < 10:
		return fmt.Sprintf("%.2f", v)
	case v < 1000:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

func fmtPct(v float64) string {
	switch {
	case v <= 0:
		return "-"
	case v < 1:
		return fmt.Sprintf("%.2f%%", v)
	case v < 10:
		return fmt.Sprintf("%.1f%%", v)
	}
	return fmt.Sprintf("%.0f%%", v)
}

func fmtBytes(b int64) string {
	switch {
	case b >= 1<<30: // 1024 MiB and up: %.4g of MiB would print 1.007e+04
		return fmt.Sprintf("%.4g GiB", float64(b)/(1<<30))
	case b >= 1<<20:
		return fmt.Sprintf("%.4g MiB", float64(b)/(1<<20))
	case b >= 1<<10:
		return fmt.Sprintf("%.4g KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}
