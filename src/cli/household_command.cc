// fupin household edit|history, fupin changes: a cadre's edit and the change feed from the
// command line, for trying what the server's PATCH /api/households/{id} and GET /api/changes
// do (service/household_edit.h, service/changes.h). Thin: parsing and printing only.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "analytics/snapshot_holder.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "core/actor.h"
#include "rules/rule_set.h"
#include "service/changes.h"
#include "service/household_edit.h"

namespace fupin::cli {
namespace {

struct EditArgs {
  std::string db, household_id, reason, note, rules, user;
  int64_t version = -1;
  std::vector<std::string> sets, members;
  std::optional<double> lat, lon;
  bool json = false;
};

// "field=value" -> FieldChange; false when there is no '='.
bool ParseSet(const std::string& text, service::FieldChange& out) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  out = {text.substr(0, eq), text.substr(eq + 1)};
  return true;
}

int Edit(const EditArgs& args, Lang lang) {
  const bool zh = lang == Lang::kZh;
  service::HouseholdEdit edit;
  edit.version = args.version;
  edit.reason = args.reason;
  edit.visit_note = args.note;
  edit.lat = args.lat;
  edit.lon = args.lon;
  for (const std::string& s : args.sets) {
    service::FieldChange c;
    if (!ParseSet(s, c)) return Fail(InvalidArgument("--set takes field=value: " + s), zh);
    edit.fields.push_back(std::move(c));
  }
  for (const std::string& s : args.members) {  // ID_NUMBER:field=value
    const size_t colon = s.find(':');
    service::FieldChange c;
    if (colon == std::string::npos || !ParseSet(s.substr(colon + 1), c))
      return Fail(InvalidArgument("--member takes ID_NUMBER:field=value: " + s), zh);
    const std::string id = s.substr(0, colon);
    auto it = std::find_if(edit.members.begin(), edit.members.end(),
                           [&](const service::MemberEdit& m) { return m.id_number == id; });
    if (it == edit.members.end()) it = edit.members.insert(edit.members.end(), {id, {}});
    it->fields.push_back(std::move(c));
  }
  auto set = args.rules.empty() ? rules::DefaultRuleSet() : rules::LoadRuleSet(args.rules);
  if (!set) return Fail(set.error(), zh);
  auto store = OpenExisting(args.db, zh);
  if (!store) return Fail(store.error(), zh);
  auto snap = analytics::OpenSnapshot(**store, args.db);
  if (!snap) return Fail(snap.error(), zh);
  analytics::SnapshotHolder holder(std::move(*snap));
  auto out = service::EditHousehold(**store, holder, *set, CliActor(args.user), args.household_id,
                                    edit, lang);
  if (!out) return Fail(out.error(), zh);
  if (args.json) {
    nlohmann::json j = {{"household_id", args.household_id}, {"version", out->version},
                        {"edit_id", out->edit_id},           {"changed", out->changed},
                        {"flags_raised", out->flags_raised}, {"flags_closed", out->flags_closed}};
    fmt::print("{}\n", j.dump());
    return kExitOk;
  }
  fmt::print("{} {}: {} {}; {} {}\n", zh ? "已保存修改" : "saved edit", out->edit_id,
             zh ? "户" : "household", args.household_id, zh ? "新版本" : "new version",
             out->version);
  fmt::print("{}: {}\n", zh ? "改动" : "changed",
             out->changed.empty() ? std::string(zh ? "（无）" : "(nothing)")
                                  : fmt::format("{}", fmt::join(out->changed, ", ")));
  fmt::print("{}: {} {}, {} {}\n", zh ? "疑点" : "flags", zh ? "新增" : "raised", out->flags_raised,
             zh ? "关闭" : "closed", out->flags_closed);
  return kExitOk;
}

void PrintChanges(const std::vector<service::Change>& changes) {
  for (const service::Change& c : changes)
    fmt::print("{}\t{}\t{}\t{}\t{}\t{}\t{}\t{} -> {}\t{}\n", c.cursor, c.at, c.source, c.user,
               c.household_id, c.member, c.field, c.old_value, c.new_value, c.reason);
}

struct HistoryArgs {
  std::string db, household_id;
  bool json = false;
};

int History(const HistoryArgs& args, Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto store = OpenExisting(args.db, zh);
  if (!store) return Fail(store.error(), zh);
  auto head = (*store)->Edits().Head(args.household_id);
  if (!head) return Fail(head.error(), zh);
  if (!*head) return Fail(NotFound((zh ? "没有户 " : "no household ") + args.household_id), zh);
  auto history = service::HouseholdHistory(**store, CliActor(""), args.household_id);
  if (!history) return Fail(history.error(), zh);
  if (args.json) {
    nlohmann::json j = {{"household_id", args.household_id},
                        {"version", (*head)->version},
                        {"changes", nlohmann::json::array()}};
    for (const service::Change& c : *history) j["changes"].push_back(service::ChangeJson(c));
    fmt::print("{}\n", j.dump());
    return kExitOk;
  }
  fmt::print("{} {}: {} {}\n", zh ? "户" : "household", args.household_id, zh ? "版本" : "version",
             (*head)->version);
  PrintChanges(*history);
  return kExitOk;
}

struct ChangesArgs {
  std::string db;
  int64_t since = 0;
  int limit = 100;
  bool json = false;
};

int Changes(const ChangesArgs& args, Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto store = OpenExisting(args.db, zh);
  if (!store) return Fail(store.error(), zh);
  auto page = service::ChangesSince(**store, CliActor(""), args.since, args.limit);
  if (!page) return Fail(page.error(), zh);
  if (args.json) {
    nlohmann::json j = {{"next_cursor", page->next_cursor}, {"changes", nlohmann::json::array()}};
    for (const service::Change& c : page->changes) j["changes"].push_back(service::ChangeJson(c));
    fmt::print("{}\n", j.dump());
    return kExitOk;
  }
  PrintChanges(page->changes);
  fmt::print(stderr, "next_cursor {}\n", page->next_cursor);
  return kExitOk;
}

}  // namespace

void AddHouseholdCommands(CLI::App& app, int& exit_code, const Lang& lang) {
  CLI::App* household =
      app.add_subcommand("household", "Edit a household, show its history / 户信息修改与变更记录");
  household->require_subcommand(1);
  auto edit = std::make_shared<EditArgs>();
  CLI::App* e = household->add_subcommand(
      "edit", "Change a household's fields with its version / 按版本号修改户信息");
  e->add_option("household_id", edit->household_id, "household id / 户编号")->required();
  e->add_option("--db", edit->db, "SQLite database file")->required();
  e->add_option("--version", edit->version,
                "the version read (fupin household history) / 读取时的版本号")
      ->required();
  e->add_option("--set", edit->sets, "field=value (repeatable) / 字段=值");
  e->add_option("--member", edit->members, "ID_NUMBER:field=value (repeatable) / 成员字段");
  e->add_option("--reason", edit->reason, "why (required for a status change) / 修改原因");
  e->add_option("--lat", edit->lat, "GPS latitude / 纬度");
  e->add_option("--lon", edit->lon, "GPS longitude / 经度");
  e->add_option("--note", edit->note, "visit note / 走访记录");
  e->add_option("--rules", edit->rules, "rules file (default: the built-in rules)");
  e->add_option("--user", edit->user, "who edits (default: the OS user)");
  e->add_flag("--json", edit->json, "print the outcome as JSON");
  e->callback([edit, &exit_code, &lang] { exit_code = Edit(*edit, lang); });

  auto history = std::make_shared<HistoryArgs>();
  CLI::App* h = household->add_subcommand(
      "history", "A household's version and every change to it / 户的版本号与变更记录");
  h->add_option("household_id", history->household_id, "household id / 户编号")->required();
  h->add_option("--db", history->db, "SQLite database file")->required();
  h->add_flag("--json", history->json, "print as JSON");
  h->callback([history, &exit_code, &lang] { exit_code = History(*history, lang); });

  auto changes = std::make_shared<ChangesArgs>();
  CLI::App* c = app.add_subcommand(
      "changes", "Changes since a cursor, as GET /api/changes gives them / 变更订阅");
  c->add_option("--db", changes->db, "SQLite database file")->required();
  c->add_option("--since", changes->since, "cursor: the last change seen (0: from the start)");
  c->add_option("--limit", changes->limit, "at most this many (1..1000)");
  c->add_flag("--json", changes->json, "print as JSON with next_cursor");
  c->callback([changes, &exit_code, &lang] { exit_code = Changes(*changes, lang); });
}

}  // namespace fupin::cli
