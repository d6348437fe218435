#include "reports/pdf_writer.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <fmt/core.h>
#include <pango/pangocairo.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <numbers>
#include <span>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "core/text.h"
#include "reports/unnamed_file.h"

namespace fupin::reports {
namespace {

// Page geometry, in points.
constexpr double kA4Short = 595;
constexpr double kA4Long = 842;
constexpr double kMargin = 40;
constexpr double kSectionGap = 14;
constexpr double kPadX = 3;  // inside a table cell
constexpr double kPadY = 2;
constexpr double kChartHeight = 300;
constexpr int kMaxCellLines = 12;  // a longer text cell is cut with "…" on its last line

// Font sizes, in points.
constexpr double kTitleSize = 16;
constexpr double kCaptionSize = 11;
constexpr double kMetaSize = 9;
constexpr double kTableMaxSize = 9;
constexpr double kReadableSize = 7;  // below this in portrait, the page turns to landscape
constexpr double kTableMinSize = 5;  // below this, text is cut instead
constexpr double kChartSize = 8;
constexpr double kFooterSize = 8;
// An XLSX column-width unit (one digit) is about half an em of the font.
constexpr double kEmPerWidthUnit = 0.5;

constexpr const char* kFontFamily = "Noto Sans CJK SC";

// Inserts thousands separators into the integer part of a formatted number ("-1234.5").
std::string GroupThousands(std::string text) {
  const size_t begin = text.starts_with('-') ? 1 : 0;
  size_t end = text.find('.');
  if (end == std::string::npos) end = text.size();
  for (size_t at = end; at > begin + 3; at -= 3) text.insert(at - 3, 1, ',');
  return text;
}

// `value` as the XLSX writer's number formats show it: #,##0 / #,##0.00 / 0.00% / 0.0000,
// and General for a number in a text column. Empty for NaN and infinities.
std::string FormatNumber(double value, NumberFormat format) {
  if (!std::isfinite(value)) return "";
  std::string text;
  switch (format) {
    case NumberFormat::kInteger:
      text = GroupThousands(fmt::format("{:.0f}", value));
      break;
    case NumberFormat::kMoney:
      text = GroupThousands(fmt::format("{:.2f}", value));
      break;
    case NumberFormat::kPercent:
      text = fmt::format("{:.2f}%", value * 100);
      break;
    case NumberFormat::kDecimal:
      text = fmt::format("{:.4f}", value);
      break;
    default:
      text = fmt::format("{:.10g}", value);
      break;
  }
  // "-0.00" for a small negative value reads as a sign error: show it unsigned.
  if (text.starts_with('-') && text.find_first_of("123456789") == std::string::npos)
    text.erase(0, 1);
  return text;
}

// A round step near `raw` (1, 2, 2.5 or 5 times a power of ten), for axis ticks.
double NiceStep(double raw) {
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  const double fraction = raw / power;
  const double nice = fraction <= 1     ? 1
                      : fraction <= 2   ? 2
                      : fraction <= 2.5 ? 2.5
                      : fraction <= 5   ? 5
                                        : 10;
  return nice * power;
}

struct SurfaceDeleter {
  void operator()(cairo_surface_t* surface) const { cairo_surface_destroy(surface); }
};
struct CairoDeleter {
  void operator()(cairo_t* cr) const { cairo_destroy(cr); }
};
struct GObjectDeleter {
  void operator()(void* object) const { g_object_unref(object); }
};
struct FontDeleter {
  void operator()(PangoFontDescription* font) const { pango_font_description_free(font); }
};
using LayoutPtr = std::unique_ptr<PangoLayout, GObjectDeleter>;

enum class Align : uint8_t { kLeft, kCenter, kRight };

// Lays out and draws text. Holds one PangoLayout per font size, weight and wrapping, reused
// for every string, so a long table costs no layout or font set-up per cell.
class TextPainter {
 public:
  explicit TextPainter(cairo_t* cr) : cr_(cr), context_(pango_cairo_create_context(cr)) {
    pango_cairo_context_set_resolution(context_.get(), 72);  // sizes in points = user units
    cairo_font_options_t* options = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE);
    pango_cairo_context_set_font_options(context_.get(), options);
    cairo_font_options_destroy(options);
    pango_context_set_language(context_.get(), pango_language_from_string("zh-cn"));
  }

  // Lays `text` out in a box `width` wide (no limit when 0): as one line cut with "…", or when
  // `max_height` > 0 wrapped over as many lines as fit in it. The layout stays valid until the
  // next call with the same size, weight and wrapping.
  PangoLayout* Layout(std::string_view text, double size, bool bold, Align align, double width,
                      double max_height = 0) {
    const bool wrap = max_height > 0;
    PangoLayout* layout = Get(size, bold, wrap);
    pango_layout_set_width(layout, width > 0 ? Units(width) : -1);
    if (wrap) pango_layout_set_height(layout, Units(max_height));
    pango_layout_set_alignment(layout, align == Align::kLeft    ? PANGO_ALIGN_LEFT
                                       : align == Align::kRight ? PANGO_ALIGN_RIGHT
                                                                : PANGO_ALIGN_CENTER);
    pango_layout_set_text(layout, text.data(), static_cast<int>(text.size()));
    return layout;
  }

  // The height of one line of text.
  double LineHeight(double size, bool bold) {
    const auto key = std::make_pair(std::lround(size * 100), bold);
    if (auto it = line_heights_.find(key); it != line_heights_.end()) return it->second;
    const double height = Size(Layout("国Ag", size, bold, Align::kLeft, 0)).second;
    line_heights_.emplace(key, height);
    return height;
  }

  static std::pair<double, double> Size(PangoLayout* layout) {
    int width = 0;
    int height = 0;
    pango_layout_get_size(layout, &width, &height);
    return {width / double{PANGO_SCALE}, height / double{PANGO_SCALE}};
  }

  void Draw(PangoLayout* layout, double x, double y) {
    cairo_move_to(cr_, x, y);
    pango_cairo_show_layout(cr_, layout);
  }

  // Draws `layout` turned by `angle` (radians, clockwise; negative turns it anticlockwise)
  // with the top right corner of its text at (x, y).
  void DrawTurned(PangoLayout* layout, double x, double y, double angle) {
    cairo_save(cr_);
    cairo_translate(cr_, x, y);
    cairo_rotate(cr_, angle);
    pango_cairo_update_layout(cr_, layout);
    cairo_move_to(cr_, -Size(layout).first, 0);
    pango_cairo_show_layout(cr_, layout);
    cairo_restore(cr_);
    pango_cairo_update_layout(cr_, layout);
  }

 private:
  static int Units(double points) { return static_cast<int>(std::lround(points * PANGO_SCALE)); }

  PangoLayout* Get(double size, bool bold, bool wrap) {
    const auto key = std::make_tuple(std::lround(size * 100), bold, wrap);
    auto it = layouts_.find(key);
    if (it != layouts_.end()) return it->second.get();
    PangoLayout* layout = pango_layout_new(context_.get());
    std::unique_ptr<PangoFontDescription, FontDeleter> font(pango_font_description_new());
    pango_font_description_set_family(font.get(), kFontFamily);
    pango_font_description_set_weight(font.get(), bold ? PANGO_WEIGHT_BOLD : PANGO_WEIGHT_NORMAL);
    pango_font_description_set_absolute_size(font.get(), size * PANGO_SCALE);
    pango_layout_set_font_description(layout, font.get());
    pango_layout_set_ellipsize(layout, PANGO_ELLIPSIZE_END);
    if (wrap)
      pango_layout_set_wrap(layout, PANGO_WRAP_WORD_CHAR);
    else
      pango_layout_set_single_paragraph_mode(layout, TRUE);  // a newline stays on the line
    layouts_.emplace(key, LayoutPtr(layout));
    return layout;
  }

  cairo_t* cr_;
  std::unique_ptr<PangoContext, GObjectDeleter> context_;
  std::map<std::tuple<long, bool, bool>, LayoutPtr> layouts_;
  std::map<std::pair<long, bool>, double> line_heights_;
};

// Where a table's parts go across the page width, and how tall its rows are.
struct TableGeometry {
  double size = kTableMaxSize;   // font size
  std::vector<double> x;         // column left edges, then the right edge of the last column
  double row_height = 0;         // of one line of text
  std::vector<double> row_tops;  // top of each body row from the first, then their height
  double totals_height = 0;
  std::vector<double> band_rows;  // top of each header band row, then the band's height
  std::vector<HeaderBox> boxes;
};

// A column's width in XLSX units, kept to Excel's 1 to 255 (12 when it is not a number).
double ColumnUnits(const Column& column) {
  return std::isfinite(column.width) ? std::clamp(column.width, 1.0, 255.0) : 12;
}

// The font size at which `table`'s columns, at their XLSX widths, fill `width` points.
double FittingSize(const Table& table, double width) {
  double units = 0;
  for (const Column& column : table.columns) units += ColumnUnits(column);
  const double text_width = width - 2 * kPadX * static_cast<double>(table.columns.size());
  return units > 0 ? text_width / (units * kEmPerWidthUnit) : kTableMaxSize;
}

// A piece of a page, placed at `y`.
struct Item {
  enum class Kind : uint8_t { kHeading, kCaption, kBand, kRows, kTotals, kNote, kChart };
  Kind kind;
  size_t section = 0;
  size_t begin = 0;  // body rows [begin, end) for kRows
  size_t end = 0;
  double y = 0;
  double height = 0;
};

class Renderer {
 public:
  Renderer(const Document& doc, cairo_t* cr, double page_width, double page_height)
      : doc_(doc), cr_(cr), text_(cr), page_width_(page_width), page_height_(page_height) {}

  // Lays every page out, then draws them, so each footer knows the page count.
  void Render() {
    LayOut();
    for (size_t p = 0; p < pages_.size(); ++p) {
      for (const Item& item : pages_[p]) Draw(item);
      DrawFooter(p + 1, pages_.size());
      cairo_show_page(cr_);
    }
  }

 private:
  double Left() const { return kMargin; }
  double ContentWidth() const { return page_width_ - 2 * kMargin; }
  double Bottom() const { return page_height_ - kMargin; }

  double CaptionHeight() { return text_.LineHeight(kCaptionSize, true) + 4; }
  double NoteHeight(const TableGeometry& geometry) {
    return text_.LineHeight(geometry.size, false) + 4;
  }
  double HeadingHeight() {
    return text_.LineHeight(kTitleSize, true) + 6 + text_.LineHeight(kMetaSize, false);
  }

  TableGeometry Measure(const Table& table) {
    TableGeometry g;
    g.size = std::clamp(FittingSize(table, ContentWidth()), kTableMinSize, kTableMaxSize);
    double units = 0;
    for (const Column& column : table.columns) units += ColumnUnits(column);
    g.x.push_back(Left());
    for (const Column& column : table.columns)
      g.x.push_back(g.x.back() + ContentWidth() * ColumnUnits(column) / units);
    const double line = text_.LineHeight(g.size, false);
    g.row_height = line + 2 * kPadY;
    g.boxes = LayOutHeader(table);
    // Band rows are one line tall, or taller for a box in one row whose text wraps (at most
    // 3 lines); a box over several rows that needs more room lengthens its bottom row.
    const int band_rows = static_cast<int>(table.groups.size()) + 1;
    std::vector<double> heights(band_rows, g.row_height);
    std::vector<double> needs;
    for (const HeaderBox& box : g.boxes) {
      PangoLayout* layout = text_.Layout(*box.text, g.size, true, Align::kCenter,
                                         g.x[box.last + 1] - g.x[box.first] - 2 * kPadX, 3 * line);
      needs.push_back(TextPainter::Size(layout).second + 2 * kPadY);
    }
    for (size_t b = 0; b < g.boxes.size(); ++b)
      if (g.boxes[b].top == g.boxes[b].bottom)
        heights[g.boxes[b].top] = std::max(heights[g.boxes[b].top], needs[b]);
    for (size_t b = 0; b < g.boxes.size(); ++b) {
      double have = 0;
      for (int r = g.boxes[b].top; r <= g.boxes[b].bottom; ++r) have += heights[r];
      if (needs[b] > have) heights[g.boxes[b].bottom] += needs[b] - have;
    }
    g.band_rows.push_back(0);
    for (double height : heights) g.band_rows.push_back(g.band_rows.back() + height);
    g.row_tops.reserve(table.rows.size() + 1);
    g.row_tops.push_back(0);
    for (const auto& row : table.rows)
      g.row_tops.push_back(g.row_tops.back() + RowHeight(table, g, row, false));
    if (!table.totals.empty()) g.totals_height = RowHeight(table, g, table.totals, true);
    return g;
  }

  // A body row is as tall as its tallest text cell wrapped to its column (numbers stay on
  // one line).
  double RowHeight(const Table& table, const TableGeometry& g, const std::vector<Cell>& row,
                   bool bold) {
    double height = g.row_height;
    for (size_t c = 0; c < table.columns.size(); ++c) {
      const auto* text = std::get_if<std::string>(&row[c]);
      if (!text || text->empty()) continue;
      const double width = g.x[c + 1] - g.x[c] - 2 * kPadX;
      // No character is wider than an em: a text of few enough characters fits on one line
      // without being laid out.
      size_t characters = 0;
      for (size_t i = 0; i < text->size(); ++characters) NextCodePoint(*text, i);
      if (static_cast<double>(characters) * g.size <= width &&
          text->find('\n') == std::string::npos)
        continue;
      PangoLayout* layout = text_.Layout(*text, g.size, bold, Align::kLeft, width,
                                         kMaxCellLines * text_.LineHeight(g.size, bold));
      height = std::max(height, TextPainter::Size(layout).second + 2 * kPadY);
    }
    return height;
  }

  void NewPage() {
    pages_.emplace_back();
    y_ = kMargin;
  }
  // Starts a new page unless `height` more fits on this one or this one is still empty (a
  // block taller than a page then runs over its bottom rather than leave empty pages).
  void Reserve(double height) {
    if (y_ + height > Bottom() && !pages_.back().empty()) NewPage();
  }
  void Add(Item::Kind kind, size_t section, double height, size_t begin = 0, size_t end = 0) {
    pages_.back().push_back({kind, section, begin, end, y_, height});
    y_ += height;
  }

  void LayOut() {
    geometry_.resize(doc_.sections.size());
    NewPage();
    Add(Item::Kind::kHeading, 0, HeadingHeight());
    for (size_t s = 0; s < doc_.sections.size(); ++s) {
      y_ += kSectionGap;
      if (std::holds_alternative<Chart>(doc_.sections[s].content)) {
        const double height = std::min(kChartHeight, Bottom() - kMargin);
        Reserve(height);
        Add(Item::Kind::kChart, s, height);
        continue;
      }
      const Table& table = std::get<Table>(doc_.sections[s].content);
      const TableGeometry& g = geometry_[s] = Measure(table);
      const double band = g.band_rows.back();
      const double caption = table.title.empty() ? 0 : CaptionHeight();
      // The caption, the header and one row stay together (and the totals row, when the
      // table has one row).
      const double first_row = table.rows.empty() ? 0 : g.row_tops[1];
      Reserve(caption + band + first_row + (table.rows.size() <= 1 ? g.totals_height : 0));
      if (caption > 0) Add(Item::Kind::kCaption, s, caption);
      Add(Item::Kind::kBand, s, band);
      bool fresh = true;  // only the header on this page so far
      const auto& tops = g.row_tops;
      for (size_t row = 0; row < table.rows.size();) {
        size_t count = 0;  // the rows from `row` that fit
        while (row + count < table.rows.size() &&
               y_ + tops[row + count + 1] - tops[row] <= Bottom())
          ++count;
        if (count == 0 && !fresh) {
          NewPage();
          Add(Item::Kind::kBand, s, band);
          fresh = true;
          continue;
        }
        count = std::max<size_t>(count, 1);  // a row taller than a page runs over its bottom
        // The totals row never stands alone on a page: when it would not fit under the last
        // rows, the last of them goes over with it.
        if (row + count == table.rows.size() && !table.totals.empty() &&
            y_ + tops[row + count] - tops[row] + g.totals_height > Bottom()) {
          if (count > 1) {
            --count;
          } else if (!fresh) {
            NewPage();
            Add(Item::Kind::kBand, s, band);
            fresh = true;
            continue;
          }
        }
        Add(Item::Kind::kRows, s, tops[row + count] - tops[row], row, row + count);
        row += count;
        fresh = false;
      }
      if (!table.totals.empty()) {
        if (y_ + g.totals_height > Bottom()) {
          NewPage();
          Add(Item::Kind::kBand, s, band);
        }
        Add(Item::Kind::kTotals, s, g.totals_height);
      }
      if (!table.note.empty()) {
        Reserve(NoteHeight(g));
        Add(Item::Kind::kNote, s, NoteHeight(g));
      }
    }
  }

  void Draw(const Item& item) {
    switch (item.kind) {
      case Item::Kind::kHeading:
        return DrawHeading(item.y);
      case Item::Kind::kCaption:
        return DrawCaption(std::get<Table>(doc_.sections[item.section].content).title, item.y);
      case Item::Kind::kBand:
        return DrawBand(geometry_[item.section], item.y);
      case Item::Kind::kRows:
        return DrawRows(item);
      case Item::Kind::kTotals:
        return DrawTotals(item);
      case Item::Kind::kNote:
        return DrawNote(item);
      case Item::Kind::kChart:
        return DrawChart(std::get<Chart>(doc_.sections[item.section].content), item.y, item.height);
    }
  }

  void SetGray(double level) { cairo_set_source_rgb(cr_, level, level, level); }

  void DrawHeading(double y) {
    SetGray(0);
    text_.Draw(text_.Layout(doc_.title, kTitleSize, true, Align::kCenter, ContentWidth()), Left(),
               y);
    y += text_.LineHeight(kTitleSize, true) + 6;
    const std::string meta =
        doc_.english ? fmt::format("Region: {} ({})    Year: {}    Date: {}", doc_.region_name,
                                   doc_.region_code, doc_.year, doc_.date)
                     : fmt::format("区划：{}（{}）    年度：{}    制表日期：{}", doc_.region_name,
                                   doc_.region_code, doc_.year, doc_.date);
    text_.Draw(text_.Layout(meta, kMetaSize, false, Align::kCenter, ContentWidth()), Left(), y);
  }

  void DrawCaption(const std::string& caption, double y) {
    SetGray(0);
    text_.Draw(text_.Layout(caption, kCaptionSize, true, Align::kLeft, ContentWidth()), Left(), y);
  }

  void DrawBand(const TableGeometry& g, double y) {
    cairo_set_line_width(cr_, 0.5);
    for (const HeaderBox& box : g.boxes) {
      const double x = g.x[box.first];
      const double width = g.x[box.last + 1] - x;
      const double top = y + g.band_rows[box.top];
      const double height = g.band_rows[box.bottom + 1] - g.band_rows[box.top];
      cairo_rectangle(cr_, x, top, width, height);
      SetGray(0.92);
      cairo_fill_preserve(cr_);
      SetGray(0.3);
      cairo_stroke(cr_);
      SetGray(0);
      PangoLayout* layout = text_.Layout(*box.text, g.size, true, Align::kCenter, width - 2 * kPadX,
                                         height - 2 * kPadY);
      text_.Draw(layout, x + kPadX, top + (height - TextPainter::Size(layout).second) / 2);
    }
  }

  // Draws a cell whose row is `height` tall: a number on one line, right-aligned; text
  // wrapped over the lines the row holds.
  void DrawCell(const Cell& cell, NumberFormat format, double size, bool bold, double x,
                double width, double y, double height) {
    if (const auto* number = std::get_if<double>(&cell)) {
      const std::string text = FormatNumber(*number, format);
      text_.Draw(text_.Layout(text, size, bold, Align::kRight, width - 2 * kPadX), x + kPadX,
                 y + kPadY);
    } else if (const auto* text = std::get_if<std::string>(&cell); text && !text->empty()) {
      text_.Draw(text_.Layout(*text, size, bold, Align::kLeft, width - 2 * kPadX,
                              std::max(height - 2 * kPadY, text_.LineHeight(size, bold))),
                 x + kPadX, y + kPadY);
    }
  }

  // Draws the grid around body rows whose tops, from `y`, are `tops` (then their bottom).
  void DrawGrid(const TableGeometry& g, double y, std::span<const double> tops) {
    const double bottom = y + tops.back() - tops.front();
    for (double top : tops) {
      cairo_move_to(cr_, g.x.front(), y + top - tops.front());
      cairo_line_to(cr_, g.x.back(), y + top - tops.front());
    }
    for (double x : g.x) {
      cairo_move_to(cr_, x, y);
      cairo_line_to(cr_, x, bottom);
    }
    cairo_set_line_width(cr_, 0.5);
    SetGray(0.3);
    cairo_stroke(cr_);
  }

  void DrawRows(const Item& item) {
    const Table& table = std::get<Table>(doc_.sections[item.section].content);
    const TableGeometry& g = geometry_[item.section];
    SetGray(0);
    for (size_t r = item.begin; r < item.end; ++r) {
      const double y = item.y + g.row_tops[r] - g.row_tops[item.begin];
      const double height = g.row_tops[r + 1] - g.row_tops[r];
      for (size_t c = 0; c < table.columns.size(); ++c)
        DrawCell(table.rows[r][c], table.columns[c].format, g.size, false, g.x[c],
                 g.x[c + 1] - g.x[c], y, height);
    }
    DrawGrid(g, item.y,
             std::span<const double>(g.row_tops).subspan(item.begin, item.end - item.begin + 1));
  }

  void DrawTotals(const Item& item) {
    const Table& table = std::get<Table>(doc_.sections[item.section].content);
    const TableGeometry& g = geometry_[item.section];
    cairo_rectangle(cr_, g.x.front(), item.y, g.x.back() - g.x.front(), g.totals_height);
    SetGray(0.96);
    cairo_fill(cr_);
    SetGray(0);
    for (size_t c = 0; c < table.columns.size(); ++c)
      DrawCell(table.totals[c], table.columns[c].format, g.size, true, g.x[c], g.x[c + 1] - g.x[c],
               item.y, g.totals_height);
    const std::array<double, 2> tops = {0, g.totals_height};
    DrawGrid(g, item.y, tops);
  }

  void DrawNote(const Item& item) {
    const Table& table = std::get<Table>(doc_.sections[item.section].content);
    SetGray(0.25);
    text_.Draw(
        text_.Layout(table.note, geometry_[item.section].size, false, Align::kLeft, ContentWidth()),
        Left(), item.y + 2);
  }

  void DrawChart(const Chart& chart, double top, double height);

  void DrawFooter(size_t page, size_t pages) {
    const std::string footer = doc_.english ? fmt::format("Page {} of {}", page, pages)
                                            : fmt::format("第 {} 页 / 共 {} 页", page, pages);
    SetGray(0.3);
    text_.Draw(text_.Layout(footer, kFooterSize, false, Align::kCenter, ContentWidth()), Left(),
               page_height_ - kMargin + 12);
  }

  const Document& doc_;
  cairo_t* cr_;
  TextPainter text_;
  double page_width_;
  double page_height_;
  std::vector<TableGeometry> geometry_;  // by section; empty for charts
  std::vector<std::vector<Item>> pages_;
  double y_ = 0;
};

// Series colours, one per series in turn.
constexpr std::array<std::array<double, 3>, 8> kPalette = {{
    {0.27, 0.45, 0.77},
    {0.93, 0.49, 0.19},
    {0.44, 0.68, 0.28},
    {0.98, 0.75, 0.00},
    {0.36, 0.61, 0.84},
    {0.65, 0.65, 0.65},
    {0.62, 0.28, 0.64},
    {0.15, 0.27, 0.47},
}};

void Renderer::DrawChart(const Chart& chart, double top, double height) {
  const double left = Left();
  const double width = ContentWidth();
  const double line = text_.LineHeight(kChartSize, false);
  SetGray(0);
  text_.Draw(text_.Layout(chart.title, kCaptionSize, true, Align::kCenter, width), left, top);
  double plot_top = top + text_.LineHeight(kCaptionSize, true) + 6;
  if (!chart.value_axis.empty()) {
    text_.Draw(text_.Layout(chart.value_axis, kChartSize, false, Align::kLeft, width / 4), left,
               plot_top);
    plot_top += line + 4;
  }

  // The legend: a swatch and a name per series, in lines along the bottom.
  std::vector<std::pair<double, double>> legend_at;  // per series, relative to the legend top
  double legend_x = 0;
  double legend_y = 0;
  for (const Chart::Series& series : chart.series) {
    const double item =
        14 +
        std::min(
            TextPainter::Size(text_.Layout(series.name, kChartSize, false, Align::kLeft, 0)).first,
            width / 3) +
        12;
    if (legend_x > 0 && legend_x + item > width) {
      legend_x = 0;
      legend_y += line + 2;
    }
    legend_at.emplace_back(legend_x, legend_y);
    legend_x += item;
  }
  const double legend_height = chart.series.empty() ? 0 : legend_y + line + 4;

  // The value scale: round ticks from the lowest to the highest value, taking in 0.
  double low = 0;
  double high = 0;
  for (const Chart::Series& series : chart.series)
    for (double value : series.values)
      if (std::isfinite(value)) {
        low = std::min(low, value);
        high = std::max(high, value);
      }
  double step = NiceStep(high > low ? (high - low) / 5 : 1);
  low = std::floor(low / step) * step;
  high = std::max(std::ceil(high / step) * step, low + step);
  if (!(step > 0) || !std::isfinite(high - low) || (high - low) / step > 20) {
    low = 0;  // values too close to the limits of a double to scale: a plain 0-1 axis
    high = 1;
    step = 0.2;
  }
  const int ticks = static_cast<int>(std::lround((high - low) / step));
  int decimals = 0;
  while (decimals < 6 &&
         std::abs(step * std::pow(10, decimals) - std::round(step * std::pow(10, decimals))) > 1e-9)
    ++decimals;
  std::vector<std::string> tick_labels;
  double label_width = 0;
  for (int t = 0; t <= ticks; ++t) {
    tick_labels.push_back(GroupThousands(fmt::format("{:.{}f}", low + t * step, decimals)));
    label_width = std::max(
        label_width,
        TextPainter::Size(text_.Layout(tick_labels.back(), kChartSize, false, Align::kRight, 0))
            .first);
  }

  // Category labels run level under their bars when they fit, else turned 45 or 90 degrees;
  // when even turned labels would overlap, only every `label_every`-th is shown.
  const double plot_left = left + label_width + 6;
  const double plot_width = left + width - 8 - plot_left;
  const size_t categories = chart.categories.size();
  const double slot = categories > 0 ? plot_width / static_cast<double>(categories) : plot_width;
  double widest = 0;
  for (const std::string& category : chart.categories)
    widest = std::max(
        widest,
        TextPainter::Size(text_.Layout(category, kChartSize, false, Align::kCenter, 0)).first);
  const double max_label = 90;  // longest turned label, in points
  const size_t label_every =
      slot >= 1.2 * line ? 1 : static_cast<size_t>(std::ceil(1.2 * line / slot));
  double angle = 0;
  double labels_height = line + 4;
  if (widest > slot - 2) {
    angle = slot >= 1.5 * line ? std::numbers::pi / 4 : std::numbers::pi / 2;
    labels_height = std::min(widest, max_label) * std::sin(angle) + line * std::cos(angle) + 6;
  }
  const double plot_bottom = top + height - legend_height - labels_height;
  const double plot_height = std::max(plot_bottom - plot_top, 10.0);
  const auto y_of = [&](double value) {
    return plot_bottom - (value - low) / (high - low) * plot_height;
  };

  // Grid lines and tick labels.
  cairo_set_line_width(cr_, 0.4);
  for (size_t t = 0; t < tick_labels.size(); ++t) {
    const double y = y_of(low + static_cast<double>(t) * step);
    SetGray(0.85);
    cairo_move_to(cr_, plot_left, y);
    cairo_line_to(cr_, plot_left + plot_width, y);
    cairo_stroke(cr_);
    SetGray(0.2);
    text_.Draw(text_.Layout(tick_labels[t], kChartSize, false, Align::kRight, label_width), left,
               y - line / 2);
  }

  // Bars: the series side by side in 80% of each category's slot.
  const size_t series_count = chart.series.size();
  const double bar = series_count > 0 ? slot * 0.8 / static_cast<double>(series_count) : 0;
  cairo_save(cr_);
  cairo_rectangle(cr_, plot_left, plot_bottom - plot_height, plot_width, plot_height);
  cairo_clip(cr_);
  for (size_t s = 0; s < series_count; ++s) {
    const auto& rgb = kPalette[s % kPalette.size()];
    cairo_set_source_rgb(cr_, rgb[0], rgb[1], rgb[2]);
    for (size_t c = 0; c < categories; ++c) {
      const double value = chart.series[s].values[c];
      if (!std::isfinite(value) || value == 0) continue;
      const double x =
          plot_left + slot * (static_cast<double>(c) + 0.1) + bar * static_cast<double>(s);
      const double y0 = y_of(0);
      const double y1 = y_of(value);
      cairo_rectangle(cr_, x, std::min(y0, y1), bar, std::abs(y1 - y0));
    }
    cairo_fill(cr_);
  }
  cairo_restore(cr_);

  // Axes.
  SetGray(0.2);
  cairo_set_line_width(cr_, 0.8);
  cairo_move_to(cr_, plot_left, plot_top);
  cairo_line_to(cr_, plot_left, plot_bottom);
  cairo_move_to(cr_, plot_left, y_of(0));
  cairo_line_to(cr_, plot_left + plot_width, y_of(0));
  cairo_stroke(cr_);

  // Category labels.
  for (size_t c = 0; c < categories; c += label_every) {
    const double center = plot_left + slot * (static_cast<double>(c) + 0.5);
    if (angle == 0) {
      text_.Draw(text_.Layout(chart.categories[c], kChartSize, false, Align::kCenter, slot),
                 center - slot / 2, plot_bottom + 3);
    } else {
      PangoLayout* layout =
          text_.Layout(chart.categories[c], kChartSize, false, Align::kLeft, max_label);
      // Turned anticlockwise so the label ends under its bar.
      text_.DrawTurned(layout, center - line * std::sin(angle) / 2, plot_bottom + 4, -angle);
    }
  }

  // Legend.
  const double legend_top = top + height - legend_height + 4;
  const double legend_left =
      left + (legend_y == 0 ? (width - legend_x) / 2 : 0);  // one line: centred
  for (size_t s = 0; s < series_count; ++s) {
    const auto& rgb = kPalette[s % kPalette.size()];
    const double x = legend_left + legend_at[s].first;
    const double y = legend_top + legend_at[s].second;
    cairo_set_source_rgb(cr_, rgb[0], rgb[1], rgb[2]);
    cairo_rectangle(cr_, x, y + line / 2 - 4, 8, 8);
    cairo_fill(cr_);
    SetGray(0);
    text_.Draw(text_.Layout(chart.series[s].name, kChartSize, false, Align::kLeft, width / 3),
               x + 12, y);
  }
}

// Writes cairo's output to a FILE, keeping the first errno.
struct Output {
  std::FILE* file;
  int error = 0;
};

cairo_status_t WriteToFile(void* closure, const unsigned char* data, unsigned int length) {
  auto* out = static_cast<Output*>(closure);
  if (std::fwrite(data, 1, length, out->file) == length) return CAIRO_STATUS_SUCCESS;
  if (out->error == 0) out->error = errno != 0 ? errno : EIO;
  return CAIRO_STATUS_WRITE_ERROR;
}

}  // namespace

Status WritePdf(const Document& doc, const std::string& path) {
  RETURN_IF_ERROR(CheckDocument(doc));
  // Landscape when some table would need too small a font across a portrait page.
  bool landscape = false;
  for (const Section& section : doc.sections)
    if (const auto* table = std::get_if<Table>(&section.content))
      landscape = landscape || FittingSize(*table, kA4Short - 2 * kMargin) < kReadableSize;
  const double page_width = landscape ? kA4Long : kA4Short;
  const double page_height = landscape ? kA4Short : kA4Long;

  ASSIGN_OR_RETURN(std::unique_ptr<UnnamedFile> file, UnnamedFile::Create(path));
  Output out{std::fopen(file->scratch().c_str(), "wb")};
  if (!out.file) return Unavailable(fmt::format("cannot write {}: {}", path, std::strerror(errno)));
  cairo_status_t status = CAIRO_STATUS_SUCCESS;
  {
    std::unique_ptr<cairo_surface_t, SurfaceDeleter> surface(
        cairo_pdf_surface_create_for_stream(WriteToFile, &out, page_width, page_height));
    cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_TITLE, doc.title.c_str());
    cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATOR, "fupin");
    std::unique_ptr<cairo_t, CairoDeleter> cr(cairo_create(surface.get()));
    Renderer(doc, cr.get(), page_width, page_height).Render();
    status = cairo_status(cr.get());
    cairo_surface_finish(surface.get());
    if (status == CAIRO_STATUS_SUCCESS) status = cairo_surface_status(surface.get());
  }
  std::string error;
  if (out.error != 0)
    error = std::strerror(out.error);
  else if (status != CAIRO_STATUS_SUCCESS)
    error = cairo_status_to_string(status);
  if (std::fclose(out.file) != 0 && error.empty()) error = std::strerror(errno);
  if (error.empty()) return file->Commit();
  return Unavailable(fmt::format("cannot write {}: {}", path, error));
}

}  // namespace fupin::reports
