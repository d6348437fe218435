// fupin_link_accuracy TRUTH_DIR LINKS_CSV: scores a person-index output (`fupin export links`)
// against a generated batch's ground truth and prints Markdown tables of precision and recall
// (definitions in tests/link_eval.h). Exit status 0 when scored, 1 when a file is unreadable
// or malformed, 2 on wrong usage.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>

#include "link_eval.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr,
                 "usage: %s TRUTH_DIR LINKS_CSV\n"
                 "  TRUTH_DIR: a batch's _truth folder (department_rows.csv, dirty.csv)\n"
                 "  LINKS_CSV: dataset,row,id_number,stage,weight (fupin export links)\n",
                 argv[0]);
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  auto accuracy = fupin::link_eval::EvaluateLinks(argv[1], argv[2]);
  if (!accuracy) {
    std::fprintf(stderr, "fupin_link_accuracy: %s\n", accuracy.error().ToString().c_str());
    return 1;
  }
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  std::fputs(fupin::link_eval::FormatMarkdown(*accuracy).c_str(), stdout);
  std::fputs(fmt::format("\n(scored in {:.1f} s)\n", took.count()).c_str(), stdout);
  return 0;
}
