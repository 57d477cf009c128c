//! PDF rendering for invoices, credit notes and customer statements.
//!
//! Billing documents have to be emailed, printed and archived, so they are written straight to
//! PDF with `pdf-writer` rather than through a headless browser or a template engine: no extra
//! runtime process, a few kilobytes per file, and the same bytes for the same input. Callers
//! pass already formatted strings (money, dates) in a [`Document`]; this module only does
//! layout.
//!
//! Choices that keep it small and predictable:
//! - Only the base-14 fonts Helvetica and Helvetica-Bold are used, so no font is embedded. Their
//!   advance widths are in this file, which lets cells be truncated and notes wrapped exactly.
//! - Text is WinAnsi encoded: ASCII and Latin-1 pass through, other characters become `?`
//!   because the base-14 fonts cannot show them.
//! - Content streams stay uncompressed; the files are small anyway and stay greppable in tests.
//! - No input panics (every lookup is checked) and nothing time-dependent is written.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

/// A party named on the document: the ISP issuing it or the customer receiving it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Party {
    /// Printed bold above the lines.
    pub name: String,
    /// Address, phone, email, KRA PIN...; each is printed on one line (truncated if too wide).
    pub lines: Vec<String>,
}

/// The line-item table (invoice lines, statement entries).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Column titles; repeated at the top of every page the table continues on.
    pub headers: Vec<String>,
    /// Cells by row; extra cells beyond the column count are ignored, missing ones left blank.
    pub rows: Vec<Vec<String>>,
    /// Indexes of the columns to right-align (amounts, quantities) so digits line up.
    pub right_aligned: Vec<usize>,
    /// Relative column weights, one per header; missing or invalid weights count as 1.
    pub widths: Vec<f32>,
}

/// Everything shown on one billing document, as display-ready strings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    /// "INVOICE", "CREDIT NOTE", "STATEMENT".
    pub title: String,
    /// Document number such as "INV-000123", shown big beside the title; may be empty.
    pub reference: String,
    /// The ISP, top left.
    pub issuer: Party,
    /// The customer, right column under "Bill to".
    pub recipient: Party,
    /// Label/value pairs under the header: date, due date, status, period...
    pub facts: Vec<(String, String)>,
    /// The line items.
    pub table: Table,
    /// Label, value and whether the row is bold; a right-hand block under the table.
    pub totals: Vec<(String, String, bool)>,
    /// Paragraphs at the end, wrapped to the page width (payment instructions, terms).
    pub notes: Vec<String>,
    /// Small grey text at the bottom of every page, next to "Page N of M".
    pub footer: String,
}

const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 40.0;
const CONTENT_W: f32 = PAGE_W - 2.0 * MARGIN;
const RIGHT: f32 = PAGE_W - MARGIN;
const TOP: f32 = PAGE_H - MARGIN;
/// Horizontal padding inside table cells.
const PAD: f32 = 4.0;
const ROW_H: f32 = 16.0;
const LINE_H: f32 = 12.0;
/// Room kept beside the footer text for "Page N of M".
const PAGE_NO_W: f32 = 90.0;
const FOOTER_PITCH: f32 = 9.5;
/// The footer repeats on every page, so it may not eat the body: longer text is cut.
const MAX_FOOTER_LINES: usize = 4;
const FACTS_PER_ROW: usize = 4;
const ELLIPSIS: &[u8] = b"...";

/// Font, size and grey level of a run of text.
#[derive(Debug, Clone, Copy)]
struct Style {
    bold: bool,
    size: f32,
    gray: f32,
}

const fn style(bold: bool, size: f32, gray: f32) -> Style {
    Style { bold, size, gray }
}

const BODY: Style = style(false, 9.0, 0.0);
const BODY_BOLD: Style = style(true, 9.0, 0.0);
const LABEL: Style = style(false, 7.5, 0.4);
const NAME: Style = style(true, 11.0, 0.0);
const ISSUER: Style = style(true, 13.0, 0.0);
const TITLE: Style = style(true, 20.0, 0.0);
const REFERENCE: Style = style(false, 20.0, 0.35);
const SMALL: Style = style(false, 7.5, 0.45);

/// Advance widths (1/1000 em) of Helvetica for WinAnsi codes 32..=255: Adobe's Core 14 AFM file
/// `Helvetica.afm` (Adobe Font Metrics 4.1, "Core14_AFMs", 1997), each code mapped to its glyph
/// name through WinAnsiEncoding (ISO 32000-1:2008, Annex D). Codes WinAnsi leaves undefined
/// (127, 129, 141, 143, 144, 157) use the bullet width 350, as FPDF does; [`encode`] never
/// produces them, nor 128..=159 at all.
const HELVETICA: [u16; 224] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
    350, 556, 350, 222, 556, 333, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350, 350,
    222, 222, 333, 333, 350, 556, 1000, 333, 1000, 500, 333, 944, 350, 500, 667, 278, 333, 556,
    556, 556, 556, 260, 556, 333, 737, 370, 556, 584, 333, 737, 333, 400, 584, 333, 333, 333, 556,
    537, 278, 333, 333, 365, 556, 834, 834, 834, 611, 667, 667, 667, 667, 667, 667, 1000, 722, 667,
    667, 667, 667, 278, 278, 278, 278, 722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722,
    722, 667, 667, 611, 556, 556, 556, 556, 556, 556, 889, 500, 556, 556, 556, 556, 278, 278, 278,
    278, 556, 556, 556, 556, 556, 556, 556, 584, 611, 556, 556, 556, 556, 500, 556, 500,
];

/// As [`HELVETICA`], from Adobe's Core 14 AFM file `Helvetica-Bold.afm`.
const HELVETICA_BOLD: [u16; 224] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667,
    611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556,
    278, 889, 611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
    350, 556, 350, 278, 556, 500, 1000, 556, 556, 333, 1000, 667, 333, 1000, 350, 611, 350, 350,
    278, 278, 500, 500, 350, 556, 1000, 333, 1000, 556, 333, 944, 350, 500, 667, 278, 333, 556,
    556, 556, 556, 280, 556, 333, 737, 370, 556, 584, 333, 737, 333, 400, 584, 333, 333, 333, 611,
    556, 278, 333, 333, 365, 556, 834, 834, 834, 611, 722, 722, 722, 722, 722, 722, 1000, 722, 667,
    667, 667, 667, 278, 278, 278, 278, 722, 722, 778, 778, 778, 778, 778, 584, 778, 722, 722, 722,
    722, 667, 667, 611, 556, 556, 556, 556, 556, 556, 889, 556, 556, 556, 556, 556, 278, 278, 278,
    278, 611, 611, 611, 611, 611, 611, 611, 584, 611, 611, 611, 611, 611, 556, 611, 556,
];

fn glyph_width(bold: bool, byte: u8) -> f32 {
    let table = if bold { &HELVETICA_BOLD } else { &HELVETICA };
    usize::from(byte)
        .checked_sub(32)
        .and_then(|i| table.get(i))
        .map_or(0.0, |&w| f32::from(w))
}

/// Width in points of encoded text.
fn text_width(text: &[u8], style: Style) -> f32 {
    text.iter()
        .map(|&b| glyph_width(style.bold, b))
        .sum::<f32>()
        * style.size
        / 1000.0
}

/// Encodes text as WinAnsi bytes. ASCII and Latin-1 printable characters are the same bytes in
/// WinAnsi; whitespace (tabs, newlines) becomes a space because every string is drawn on single
/// lines; anything else (controls, C1, other scripts, emoji) becomes `?`.
fn encode(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match u8::try_from(c) {
            Ok(b @ (0x20..=0x7E | 0xA0..=0xFF)) => b,
            _ if c.is_whitespace() => b' ',
            _ => b'?',
        })
        .collect()
}

/// Cuts text to `max` points, ending it with "..." so the reader sees that something is
/// missing. Returns nothing when not even the ellipsis fits.
fn fit(text: &[u8], style: Style, max: f32) -> Vec<u8> {
    if text_width(text, style) <= max {
        return text.to_vec();
    }
    let budget = max - text_width(ELLIPSIS, style);
    if budget < 0.0 {
        return Vec::new();
    }
    let mut used = 0.0;
    let mut out: Vec<u8> = text
        .iter()
        .copied()
        .take_while(|&b| {
            used += glyph_width(style.bold, b) * style.size / 1000.0;
            used <= budget
        })
        .collect();
    while out.last() == Some(&b' ') {
        out.pop();
    }
    out.extend_from_slice(ELLIPSIS);
    out
}

/// Greedy word wrap to `max` points. Words wider than a whole line are split between characters,
/// so an unbroken string (a URL, a pasted token) still stays on the page.
fn wrap(text: &[u8], style: Style, max: f32) -> Vec<Vec<u8>> {
    let space = text_width(b" ", style);
    let mut lines = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    let mut line_w = 0.0;
    for word in text.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
        for piece in split_long(word, style, max) {
            let w = text_width(piece, style);
            if !line.is_empty() && line_w + space + w > max {
                lines.push(std::mem::take(&mut line));
                line_w = 0.0;
            }
            if !line.is_empty() {
                line.push(b' ');
                line_w += space;
            }
            line.extend_from_slice(piece);
            line_w += w;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Splits one word into pieces no wider than `max` (each piece holds at least one byte).
fn split_long(word: &[u8], style: Style, max: f32) -> Vec<&[u8]> {
    let mut pieces = Vec::new();
    let (mut start, mut width) = (0, 0.0);
    for (i, &b) in word.iter().enumerate() {
        let g = glyph_width(style.bold, b) * style.size / 1000.0;
        if i > start && width + g > max {
            pieces.push(word.get(start..i).unwrap_or_default());
            (start, width) = (i, 0.0);
        }
        width += g;
    }
    pieces.push(word.get(start..).unwrap_or_default());
    pieces
}

/// Where a line of text goes: its left or its right end at `x`, baseline at `y`.
#[derive(Debug, Clone, Copy)]
enum At {
    Left(f32, f32),
    Right(f32, f32),
}

/// Draws one line of encoded text, truncated to `max` points. Each run is its own text object,
/// which keeps the content stream trivially valid.
fn put(c: &mut Content, style: Style, at: At, text: &[u8], max: f32) {
    let text = fit(text, style, max);
    if text.is_empty() {
        return;
    }
    let (x, y) = match at {
        At::Left(x, y) => (x, y),
        At::Right(x, y) => (x - text_width(&text, style), y),
    };
    c.set_fill_gray(style.gray);
    c.begin_text();
    c.set_font(Name(if style.bold { b"F2" } else { b"F1" }), style.size);
    c.next_line(x, y);
    c.show(Str(&text));
    c.end_text();
}

fn rule(c: &mut Content, x1: f32, x2: f32, y: f32, gray: f32) {
    c.set_stroke_gray(gray);
    c.set_line_width(0.5);
    c.move_to(x1, y);
    c.line_to(x2, y);
    c.stroke();
}

/// Baseline that vertically centres text of `style` in a row whose top is `top`.
fn row_baseline(top: f32, style: Style) -> f32 {
    top - ROW_H / 2.0 - style.size * 0.35
}

/// A table column resolved to page coordinates.
struct Column {
    x: f32,
    width: f32,
    right: bool,
}

/// Turns the relative weights into absolute columns spanning the content width. Without headers
/// the widest row decides the column count, so header-less tables still render.
fn columns(table: &Table) -> Vec<Column> {
    let count = if table.headers.is_empty() {
        table.rows.iter().map(Vec::len).max().unwrap_or(0)
    } else {
        table.headers.len()
    };
    let weights: Vec<f32> = (0..count)
        .map(|i| match table.widths.get(i) {
            Some(&w) if w.is_finite() && w > 0.0 => w.clamp(0.01, 1000.0),
            _ => 1.0,
        })
        .collect();
    let total: f32 = weights.iter().sum();
    let mut x = MARGIN;
    let mut cols = Vec::with_capacity(count);
    for (i, w) in weights.iter().enumerate() {
        let width = CONTENT_W * w / total;
        let right = table.right_aligned.contains(&i);
        cols.push(Column { x, width, right });
        x += width;
    }
    cols
}

/// Layout state: the page being drawn, the finished ones, and a cursor moving down the page.
struct Layout<'a> {
    doc: &'a Document,
    done: Vec<Content>,
    page: Content,
    /// Top of the next block, in points from the bottom of the page.
    y: f32,
    /// Lowest point the body may reach; the footer lives below it.
    bottom: f32,
    /// Nothing but the running header is on the page yet, so breaking again would not help.
    fresh: bool,
}

impl Layout<'_> {
    /// Starts a new page unless `height` still fits; returns whether it did.
    fn ensure(&mut self, height: f32) -> bool {
        let broke = self.y - height < self.bottom && !self.fresh;
        if broke {
            self.new_page();
        }
        self.fresh = false;
        broke
    }

    /// Continuation pages carry a small running header so loose pages can be matched up.
    fn new_page(&mut self) {
        let full = std::mem::replace(&mut self.page, Content::new());
        self.done.push(full);
        let head = encode(&format!("{} (continued)", heading(self.doc)));
        let at = At::Left(MARGIN, TOP - 8.0);
        put(&mut self.page, SMALL, at, &head, CONTENT_W);
        self.y = TOP - 18.0;
        self.fresh = true;
    }

    fn finish(mut self) -> Vec<Content> {
        self.done.push(self.page);
        self.done
    }

    /// Title and reference at the top right, the issuer name on the same line at the left, then
    /// issuer lines (left) beside the recipient (right), one shared row at a time so either
    /// column can be long without overlapping the other.
    fn header(&mut self) {
        let doc = self.doc;
        let max = CONTENT_W * 0.6;
        let title = fit(&encode(&doc.title), TITLE, max);
        let title_w = text_width(&title, TITLE);
        let gap = if title.is_empty() { 0.0 } else { 10.0 };
        let reference = fit(&encode(&doc.reference), REFERENCE, max - title_w - gap);
        let ref_w = text_width(&reference, REFERENCE);
        let gap = if reference.is_empty() { 0.0 } else { gap };
        self.ensure(28.0);
        let y = self.y - 18.0;
        let page = &mut self.page;
        put(page, REFERENCE, At::Right(RIGHT, y), &reference, max);
        put(page, TITLE, At::Right(RIGHT - ref_w - gap, y), &title, max);
        let name_max = CONTENT_W - title_w - gap - ref_w - 16.0;
        let name = encode(&doc.issuer.name);
        put(page, ISSUER, At::Left(MARGIN, y), &name, name_max);
        self.y -= 30.0;

        let left: Vec<(Style, Vec<u8>)> =
            doc.issuer.lines.iter().map(|l| (BODY, encode(l))).collect();
        let mut right: Vec<(Style, Vec<u8>)> = Vec::new();
        let to = &doc.recipient;
        if !to.name.is_empty() || !to.lines.is_empty() {
            right.push((LABEL, b"Bill to".to_vec()));
            right.push((NAME, encode(&to.name)));
            right.extend(to.lines.iter().map(|l| (BODY, encode(l))));
        }
        let col_w = CONTENT_W / 2.0 - 10.0;
        for i in 0..left.len().max(right.len()) {
            self.ensure(LINE_H + 2.0);
            self.y -= LINE_H + 2.0;
            for (x, column) in [(MARGIN, &left), (RIGHT - col_w, &right)] {
                if let Some((style, text)) = column.get(i) {
                    let at = At::Left(x, self.y + 3.0);
                    put(&mut self.page, *style, at, text, col_w);
                }
            }
        }
        self.y -= 10.0;
        self.ensure(10.0);
        rule(&mut self.page, MARGIN, RIGHT, self.y, 0.75);
        self.y -= 8.0;
    }

    /// Facts as a grid of small grey labels over bold values, four to a row.
    fn facts(&mut self) {
        let cell = CONTENT_W / FACTS_PER_ROW as f32;
        for chunk in self.doc.facts.chunks(FACTS_PER_ROW) {
            self.ensure(28.0);
            let (y, mut x) = (self.y, MARGIN);
            for (label, value) in chunk {
                let page = &mut self.page;
                let (label, value) = (encode(label), encode(value));
                put(page, LABEL, At::Left(x, y - 9.0), &label, cell - 8.0);
                put(page, BODY_BOLD, At::Left(x, y - 21.0), &value, cell - 8.0);
                x += cell;
            }
            self.y -= 28.0;
        }
    }

    /// One table row of cells, truncated to their columns.
    fn cells(&mut self, cols: &[Column], cells: &[String], style: Style) {
        let y = row_baseline(self.y, style);
        for (col, cell) in cols.iter().zip(cells) {
            let at = if col.right {
                At::Right(col.x + col.width - PAD, y)
            } else {
                At::Left(col.x + PAD, y)
            };
            let max = col.width - 2.0 * PAD;
            put(&mut self.page, style, at, &encode(cell), max);
        }
        self.y -= ROW_H;
    }

    fn table_header(&mut self, cols: &[Column]) {
        self.page.set_fill_gray(0.93);
        self.page.rect(MARGIN, self.y - ROW_H, CONTENT_W, ROW_H);
        self.page.fill_nonzero();
        self.cells(cols, &self.doc.table.headers, BODY_BOLD);
        rule(&mut self.page, MARGIN, RIGHT, self.y, 0.6);
    }

    /// The table, breaking pages between rows and repeating the header row after each break.
    fn table(&mut self) {
        let table = &self.doc.table;
        let cols = columns(table);
        if cols.is_empty() {
            return;
        }
        self.y -= 8.0;
        let has_header = !table.headers.is_empty();
        if has_header {
            // Never leave a header row alone at the bottom of a page.
            self.ensure(ROW_H * 2.0);
            self.table_header(&cols);
        }
        for row in &table.rows {
            if self.ensure(ROW_H) && has_header {
                self.table_header(&cols);
            }
            self.cells(&cols, row, BODY);
            rule(&mut self.page, MARGIN, RIGHT, self.y, 0.85);
        }
    }

    /// Totals as a right-hand block, kept on one page when it fits; bold rows get a rule above.
    fn totals(&mut self) {
        let totals = &self.doc.totals;
        if totals.is_empty() {
            return;
        }
        self.y -= 8.0;
        self.ensure(ROW_H * totals.len() as f32);
        let (label_w, value_w) = (150.0, 120.0);
        let left = RIGHT - label_w - value_w;
        for (label, value, bold) in totals {
            self.ensure(ROW_H);
            let style = if *bold { BODY_BOLD } else { BODY };
            if *bold {
                rule(&mut self.page, left, RIGHT, self.y, 0.6);
            }
            let y = row_baseline(self.y, style);
            let (label, value) = (encode(label), encode(value));
            let page = &mut self.page;
            put(page, style, At::Left(left + PAD, y), &label, label_w - PAD);
            let at = At::Right(RIGHT - PAD, y);
            put(page, style, at, &value, value_w - PAD);
            self.y -= ROW_H;
        }
    }

    /// Notes, wrapped at word boundaries and allowed to flow over pages line by line.
    fn notes(&mut self) {
        let notes = self.doc.notes.iter();
        let paragraphs: Vec<Vec<Vec<u8>>> = notes
            .map(|p| wrap(&encode(p), BODY, CONTENT_W))
            .filter(|lines| !lines.is_empty())
            .collect();
        if paragraphs.is_empty() {
            return;
        }
        self.y -= 14.0;
        for lines in paragraphs {
            for line in lines {
                self.ensure(LINE_H);
                self.y -= LINE_H;
                let at = At::Left(MARGIN, self.y + 3.0);
                put(&mut self.page, BODY, at, &line, CONTENT_W);
            }
            self.y -= 5.0;
        }
    }
}

/// "INVOICE INV-000123", skipping whichever part is empty.
fn heading(doc: &Document) -> String {
    let parts = [doc.title.trim(), doc.reference.trim()];
    let parts: Vec<&str> = parts.into_iter().filter(|p| !p.is_empty()).collect();
    parts.join(" ")
}

/// Footer text and page number; drawn after layout because "of M" is only known then.
fn draw_footer(c: &mut Content, lines: &[Vec<u8>], top: f32, number: usize, total: usize) {
    rule(c, MARGIN, RIGHT, top, 0.8);
    let mut y = top - 4.0 - SMALL.size;
    for line in lines {
        put(c, SMALL, At::Left(MARGIN, y), line, CONTENT_W - PAGE_NO_W);
        y -= FOOTER_PITCH;
    }
    let page_no = format!("Page {number} of {total}");
    let page_no = page_no.as_bytes();
    put(c, SMALL, At::Right(RIGHT, MARGIN), page_no, PAGE_NO_W);
}

/// Object ids are i32 in PDF; a document big enough to overflow that would exhaust memory long
/// before, so saturating here only keeps the conversion panic-free.
fn obj(id: usize) -> Ref {
    Ref::new(i32::try_from(id).unwrap_or(i32::MAX).max(1))
}

/// Renders `doc` to PDF bytes: A4 pages with 40 pt margins, deterministic for equal input.
pub fn render(doc: &Document) -> Vec<u8> {
    let footer: Vec<Vec<u8>> = wrap(&encode(&doc.footer), SMALL, CONTENT_W - PAGE_NO_W)
        .into_iter()
        .take(MAX_FOOTER_LINES)
        .collect();
    let footer_rows = footer.len().max(1) as f32;
    let footer_top = MARGIN + (footer_rows - 1.0) * FOOTER_PITCH + SMALL.size + 4.0;

    let mut layout = Layout {
        doc,
        done: Vec::new(),
        page: Content::new(),
        y: TOP,
        bottom: footer_top + 10.0,
        fresh: true,
    };
    layout.header();
    layout.facts();
    layout.table();
    layout.totals();
    layout.notes();
    let pages = layout.finish();

    let (catalog, tree, info, regular, bold) = (obj(1), obj(2), obj(3), obj(4), obj(5));
    let ids: Vec<(Ref, Ref)> = (0..pages.len())
        .map(|i| (obj(6 + 2 * i), obj(7 + 2 * i)))
        .collect();
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(ids.iter().map(|&(page, _)| page))
        .count(i32::try_from(pages.len()).unwrap_or(i32::MAX));
    let mut meta = pdf.document_info(info);
    let title = heading(doc);
    if !title.is_empty() {
        meta.title(TextStr(&title));
    }
    meta.producer(TextStr("Jasiyo"));
    meta.finish();
    for (id, name) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
        pdf.type1_font(id)
            .base_font(Name(name.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let total = pages.len();
    for (i, (mut content, (page_id, content_id))) in pages.into_iter().zip(ids).enumerate() {
        draw_footer(&mut content, &footer, footer_top, i + 1, total);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .parent(tree)
            .contents(content_id);
        page.resources()
            .fonts()
            .pair(Name(b"F1"), regular)
            .pair(Name(b"F2"), bold);
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    pdf.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    fn count(haystack: &[u8], needle: &[u8]) -> usize {
        haystack
            .windows(needle.len())
            .filter(|w| *w == needle)
            .count()
    }

    /// Page objects, not the page tree: "/Type /Page" not followed by "s".
    fn pages(pdf: &[u8]) -> usize {
        count(pdf, b"/Type /Page") - count(pdf, b"/Type /Pages")
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    fn invoice(rows: usize) -> Document {
        Document {
            title: "INVOICE".into(),
            reference: "INV-000123".into(),
            issuer: Party {
                name: "Jasiyo Networks Ltd".into(),
                lines: strings(&["P.O. Box 1, Nairobi", "KRA PIN P051234567X"]),
            },
            recipient: Party {
                name: "Wanjiku Kamau".into(),
                lines: strings(&["+254 700 000 000", "wanjiku@example.com"]),
            },
            facts: vec![
                ("Date".into(), "2025-01-01".into()),
                ("Due date".into(), "2025-01-15".into()),
                ("Status".into(), "Unpaid".into()),
            ],
            table: Table {
                headers: strings(&["Description", "Qty", "Amount"]),
                rows: (0..rows)
                    .map(|i| strings(&["Home Fibre 10 Mbps", &i.to_string(), "2,500.00"]))
                    .collect(),
                right_aligned: vec![1, 2],
                widths: vec![4.0, 1.0, 2.0],
            },
            totals: vec![
                ("Subtotal".into(), "KES 2,155.17".into(), false),
                ("Total due".into(), "KES 2,500.00".into(), true),
            ],
            notes: vec!["Pay via M-Pesa paybill 123456 using your account number. ".repeat(8)],
            footer: "Jasiyo Networks Ltd - support@example.com".into(),
        }
    }

    fn assert_well_formed(pdf: &[u8]) {
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"));
        let n = pages(pdf);
        assert!(n >= 1);
        assert!(contains(pdf, format!("/Count {n}").as_bytes()));
        assert!(contains(pdf, format!("(Page {n} of {n})").as_bytes()));
    }

    #[test]
    fn renders_a_pdf_with_visible_text() {
        let pdf = render(&invoice(3));
        assert_well_formed(&pdf);
        assert_eq!(pages(&pdf), 1);
        assert!(contains(&pdf, b"(Home Fibre 10 Mbps)"));
        assert!(contains(&pdf, b"(INV-000123)"));
        assert!(contains(&pdf, b"(KES 2,500.00)"));
        assert!(contains(&pdf, b"/Title (INVOICE INV-000123)"));
        assert!(contains(&pdf, b"/Producer (Jasiyo)"));
        assert!(contains(&pdf, b"/BaseFont /Helvetica-Bold"));
        assert!(contains(&pdf, b"/Encoding /WinAnsiEncoding"));
    }

    #[test]
    fn long_tables_continue_with_the_header_repeated() {
        let pdf = render(&invoice(500));
        assert_well_formed(&pdf);
        let n = pages(&pdf);
        assert!(n > 1, "500 rows on {n} page(s)");
        // The header row is repeated on every page the table spans.
        assert_eq!(count(&pdf, b"(Description)"), n);
        assert!(contains(&pdf, b"(499)"));
        assert!(contains(&pdf, b"(INVOICE INV-000123 (continued))"));
    }

    #[test]
    fn non_latin1_becomes_question_marks() {
        assert_eq!(encode("Ünïcødé ✓ 😀"), b"\xDCn\xEFc\xF8d\xE9 ? ?");
        assert_eq!(encode("a\tb\nc\u{7}"), b"a b c?");
        let mut doc = invoice(1);
        doc.table.rows = vec![strings(&["Ünïcødé ✓ 😀"])];
        doc.recipient.name = "Ünïcødé ✓ 😀".into();
        let pdf = render(&doc);
        assert_well_formed(&pdf);
        // Non-ASCII strings are written as hex by pdf-writer: WinAnsi bytes, '?' = 3F.
        assert_eq!(count(&pdf, b"<DC6EEF63F864E9203F203F>"), 2);
    }

    #[test]
    fn wide_cells_are_truncated_with_an_ellipsis() {
        let long: String = (0..300)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let mut doc = invoice(0);
        doc.table.rows = vec![vec![long.clone(), "1".into(), long.clone()]];
        let pdf = render(&doc);
        assert!(!contains(&pdf, long.as_bytes()));
        assert!(contains(&pdf, b"(abcdefghijklmnopqrstuvwxyzabcdefghij"));
        assert_eq!(count(&pdf, b"...)"), 2);
        let cut = fit(long.as_bytes(), BODY, 100.0);
        assert!(cut.ends_with(ELLIPSIS) && text_width(&cut, BODY) <= 100.0);
        assert_eq!(fit(b"short", BODY, 100.0), b"short");
        assert!(fit(b"anything", BODY, 1.0).is_empty());
    }

    #[test]
    fn notes_wrap_at_word_boundaries_within_the_width() {
        let text = "alpha beta gamma delta ".repeat(40);
        let lines = wrap(text.as_bytes(), BODY, 200.0);
        assert!(lines.len() > 1);
        for line in &lines {
            assert!(text_width(line, BODY) <= 200.0);
            assert!(!line.starts_with(b" ") && !line.ends_with(b" "));
        }
        let words: Vec<&[u8]> = lines.iter().flat_map(|l| l.split(|&b| b == b' ')).collect();
        assert_eq!(words.len(), 160);
        // An unbroken word is split rather than overflowing.
        let token = vec![b'x'; 500];
        assert!(
            wrap(&token, BODY, 100.0)
                .iter()
                .all(|l| text_width(l, BODY) <= 100.0)
        );
    }

    #[test]
    fn widths_come_from_the_afm_tables() {
        // Helvetica: 'H' 722, 'i' 222; Helvetica-Bold: 'i' 278.
        assert_eq!(text_width(b"Hi", BODY), (722.0 + 222.0) * 9.0 / 1000.0);
        assert_eq!(text_width(b"i", BODY_BOLD), 278.0 * 9.0 / 1000.0);
        assert_eq!(glyph_width(false, 0xFF), 500.0);
        assert_eq!(glyph_width(true, 0xFF), 556.0);
    }

    #[test]
    fn hostile_input_does_not_panic() {
        assert_well_formed(&render(&Document::default()));
        let huge = "W".repeat(20_000);
        let mut doc = invoice(10_000);
        doc.title = huge.clone();
        doc.reference = huge.clone();
        doc.issuer.lines = vec![huge.clone(); 200];
        doc.facts = vec![(huge.clone(), String::new()); 50];
        doc.table.widths = vec![f32::NAN, -1.0, f32::INFINITY, 0.0, 1e30];
        doc.table.right_aligned = vec![0, 7, usize::MAX];
        doc.table.rows.push(Vec::new());
        doc.table.rows.push(vec![String::new(); 40]);
        doc.totals = vec![(huge.clone(), huge.clone(), true); 200];
        doc.notes = vec![huge.clone(), String::new(), " \n\t ".into()];
        doc.footer = format!("{huge} {huge}");
        assert_well_formed(&render(&doc));

        let mut odd = Document::default();
        odd.table.rows = vec![strings(&["a(b", "c)d", "\\"]), Vec::new()];
        odd.table.widths = vec![1.0];
        let pdf = render(&odd);
        assert_well_formed(&pdf);
        assert!(contains(&pdf, b"(a\\(b)") && contains(&pdf, b"(c\\)d)"));
        assert!(contains(&pdf, b"(\\\\)"));

        let mut many = Document::default();
        many.table.headers = vec!["h".into(); 5_000];
        assert_well_formed(&render(&many));
    }

    #[test]
    fn output_is_deterministic() {
        assert_eq!(render(&invoice(60)), render(&invoice(60)));
    }
}
