#include "exchange/csv_reader.h"

#include <gtest/gtest.h>
#include <iconv.h>

#include <string>
#include <vector>

namespace fupin::exchange {
namespace {

std::vector<std::vector<std::string>> ReadAll(std::string_view text, Status* error = nullptr) {
  auto file = OpenCsvText(text);
  EXPECT_TRUE(file.has_value()) << (file ? "" : file.error().ToString());
  std::vector<std::vector<std::string>> rows;
  if (!file) return rows;
  RawRow row;
  for (;;) {
    auto got = file->rows->Next(row);
    if (!got) {
      if (error) *error = got.error();
      break;
    }
    if (!*got) break;
    rows.push_back(row.cells);
  }
  return rows;
}

using Rows = std::vector<std::vector<std::string>>;

TEST(CsvReader, PlainRowsWithLfAndCrlf) {
  EXPECT_EQ(ReadAll("a,b\n1,2\n"), (Rows{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(ReadAll("a,b\r\n1,2\r\n"), (Rows{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(ReadAll("a,b\r\n1,2"), (Rows{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(ReadAll("a,,\n"), (Rows{{"a", "", ""}}));
}

TEST(CsvReader, QuotedFieldsKeepCommasQuotesAndNewlines) {
  EXPECT_EQ(ReadAll("\"a,b\",\"say \"\"hi\"\"\"\n\"line1\nline2\",x\n"),
            (Rows{{"a,b", "say \"hi\""}, {"line1\nline2", "x"}}));
  EXPECT_EQ(ReadAll("\"\",\"\"\n"), (Rows{{"", ""}}));
}

TEST(CsvReader, BomIsDropped) {
  EXPECT_EQ(ReadAll("\xEF\xBB\xBFid,name\n1,张三\n"), (Rows{{"id", "name"}, {"1", "张三"}}));
}

TEST(CsvReader, SourceLinesCountEmbeddedNewlines) {
  auto file = OpenCsvText("h\n\"a\nb\"\nc\n");
  ASSERT_TRUE(file);
  RawRow row;
  ASSERT_TRUE(*file->rows->Next(row));
  EXPECT_EQ(row.source_line, 1);
  ASSERT_TRUE(*file->rows->Next(row));
  EXPECT_EQ(row.source_line, 2);
  ASSERT_TRUE(*file->rows->Next(row));
  EXPECT_EQ(row.source_line, 4);
}

TEST(CsvReader, UnclosedQuoteAtEndIsAnErrorAfterGoodRows) {
  Status error;
  Rows rows = ReadAll("a,b\n1,2\n3,\"cut off here", &error);
  EXPECT_EQ(rows, (Rows{{"a", "b"}, {"1", "2"}}));
  EXPECT_EQ(error.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(error.message().find("line 3"), std::string::npos) << error.message();
}

TEST(CsvReader, BinaryDataIsRefused) {
  std::string binary("PK\x03\x04\x00\x00binary", 12);
  auto file = OpenCsvText(binary);
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message().find("binary"), std::string::npos);
}

std::string ToGb18030(const std::string& utf8) {
  iconv_t cd = iconv_open("GB18030", "UTF-8");
  std::string out(utf8.size() * 4, '\0');
  char* in = const_cast<char*>(utf8.data());
  size_t in_left = utf8.size(), out_left = out.size();
  char* dst = out.data();
  iconv(cd, &in, &in_left, &dst, &out_left);
  iconv_close(cd);
  out.resize(out.size() - out_left);
  return out;
}

TEST(CsvReader, Gb18030IsDetectedAndConverted) {
  std::string utf8 = "姓名,区划\n张三,贵州省毕节市\n李四,黔东南苗族侗族自治州\n";
  std::string gb = ToGb18030(utf8);
  ASSERT_NE(gb, utf8);
  auto file = OpenCsvText(gb);
  ASSERT_TRUE(file);
  EXPECT_EQ(file->encoding, Encoding::kGb18030);
  EXPECT_EQ(ReadAll(gb),
            (Rows{{"姓名", "区划"}, {"张三", "贵州省毕节市"}, {"李四", "黔东南苗族侗族自治州"}}));
}

TEST(CsvReader, Gb18030ConversionAcrossChunkBoundaries) {
  // Well over the 1 MiB read chunk, with two-byte characters at every offset parity.
  std::string utf8 = "h\n";
  for (int i = 0; i < 200000; ++i) utf8 += (i % 2 ? "贵州a\n" : "黔东南\n");
  auto rows = ReadAll(ToGb18030(utf8));
  ASSERT_EQ(rows.size(), 200001u);
  EXPECT_EQ(rows[1][0], "黔东南");
  EXPECT_EQ(rows[200000][0], "贵州a");
}

TEST(CsvReader, QuotesAndLineEndsAcrossChunkBoundaries) {
  std::string text = "h1,h2\r\n";
  std::vector<std::string> expected;
  for (int i = 0; i < 120000; ++i) text += "\"x\"\"y\",\"a\r\nb\"\r\n";
  auto rows = ReadAll(text);
  ASSERT_EQ(rows.size(), 120001u);
  for (size_t i = 1; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].size(), 2u) << i;
    ASSERT_EQ(rows[i][0], "x\"y") << i;
    ASSERT_EQ(rows[i][1], "a\r\nb") << i;
  }
}

TEST(CsvReader, InvalidUtf8CellIsMarkedAndReadingGoesOn) {
  // A UTF-8 file (decided at its first Chinese text) with one stray GBK-encoded cell later.
  std::string text = "a,b\n张三李四王五,贵州省黔东南苗族侗族自治州\n" + std::string(70000, 'x') +
                     ",1\nok,\xB9\xF3\n3,4\n";
  auto file = OpenCsvText(text);
  ASSERT_TRUE(file);
  EXPECT_EQ(file->encoding, Encoding::kUtf8);
  RawRow row;
  ASSERT_TRUE(*file->rows->Next(row));
  ASSERT_TRUE(*file->rows->Next(row));
  ASSERT_TRUE(*file->rows->Next(row));
  EXPECT_EQ(row.invalid_utf8_cell, -1);
  ASSERT_TRUE(*file->rows->Next(row));
  EXPECT_EQ(row.invalid_utf8_cell, 1);
  EXPECT_EQ(row.cells[1], "");
  ASSERT_TRUE(*file->rows->Next(row));
  EXPECT_EQ(row.cells, (std::vector<std::string>{"3", "4"}));
}

TEST(CsvReader, EmptyTextHasNoRows) { EXPECT_TRUE(ReadAll("").empty()); }

TEST(CsvReader, DetectEncodingTellsApartTheCases) {
  EXPECT_EQ(*DetectEncoding("abc,中文", true), Encoding::kUtf8);
  EXPECT_EQ(*DetectEncoding("abc,\xD6\xD0\xCE\xC4", true), Encoding::kGb18030);
  EXPECT_FALSE(DetectEncoding("abc\xFF\xFF", true));
  // A UTF-8 character cut by the end of the sample is fine when more follows.
  EXPECT_EQ(*DetectEncoding("abc\xE4\xB8", false), Encoding::kUtf8);
}

// A field of any length costs at most kMaxCellBytes + 1 bytes: enough for the importer to
// see that it is too long, and the rows after it are read as usual.
TEST(CsvReader, OverlongFieldIsCutJustPastTheCellLimit) {
  for (bool quoted : {false, true}) {
    const std::string big(3 * kMaxCellBytes, 'x');
    const std::string text = "a,b\n" + (quoted ? "\"" + big + "\"" : big) + ",2\nnext,3\n";
    Rows rows = ReadAll(text);
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[1][0].size(), kMaxCellBytes + 1);
    EXPECT_EQ(rows[1][1], "2");
    EXPECT_EQ(rows[2], (std::vector<std::string>{"next", "3"}));
  }
}

TEST(CsvReader, FewNulBytesInTextAreLeftToTheirRows) {
  std::string text = "a,b\n";
  for (int i = 0; i < 500; ++i) text += "some text,1\n";
  text += std::string("bad\0cell,2\n", 11);
  Rows rows = ReadAll(text);
  ASSERT_EQ(rows.size(), 502u);
  EXPECT_EQ(rows[501][0], std::string("bad\0cell", 8));
}

TEST(CsvReader, Utf16IsNamedWithHowToConvert) {
  std::string le = "\xFF\xFE";
  for (char c : std::string("a,b\n1,2\n")) {
    le.push_back(c);
    le.push_back('\0');
  }
  auto file = OpenCsvText(le);
  ASSERT_FALSE(file.has_value());
  EXPECT_NE(file.error().message().find("UTF-16"), std::string::npos) << file.error().message();
  EXPECT_NE(file.error().message().find("iconv"), std::string::npos);
  // Without a byte-order mark: a NUL beside every ASCII character.
  auto no_bom = OpenCsvText(le.substr(2));
  ASSERT_FALSE(no_bom.has_value());
  EXPECT_NE(no_bom.error().message().find("UTF-16"), std::string::npos);
}

}  // namespace
}  // namespace fupin::exchange
