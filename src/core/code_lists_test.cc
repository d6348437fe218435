#include "core/code_lists.h"

#include <gtest/gtest.h>

namespace fupin {
namespace {

TEST(CodeLists, ExchangeListsArePresentWithLabels) {
  const CodeList* cause = FindCodeList("cause");
  ASSERT_NE(cause, nullptr);
  EXPECT_EQ(cause->Find(1)->label_zh, "因病");
  EXPECT_EQ(cause->Find(99)->label_en, "other");
  EXPECT_EQ(cause->Find(13), nullptr);
  EXPECT_EQ(FindCodeList("status")->Find(9)->label_zh, "注销");
  EXPECT_EQ(FindCodeList("ethnicity")->Find(37)->label_zh, "仡佬族");
  EXPECT_EQ(FindCodeList("nope"), nullptr);
  for (const CodeList& list : AllCodeLists()) {
    EXPECT_FALSE(list.entries.empty()) << list.name;
    for (const CodeEntry& e : list.entries) EXPECT_FALSE(e.label_zh.empty()) << list.name;
  }
}

}  // namespace
}  // namespace fupin
