// `fupin user`, `fupin token`, `fupin audit`, `fupin backup`: accounts, API tokens, the audit
// chain and the online backup (service/accounts.h, service/audit.h). The commands act as an
// admin of the whole province (whoever runs them holds the database file), named by --user
// or the OS user, and every change they make is audited.
#include <fmt/format.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/common.h"
#include "core/actor.h"
#include "core/display_width.h"
#include "service/accounts.h"
#include "service/audit.h"

namespace fupin::cli {
namespace {

struct AccountArgs {
  std::string db;
  std::string name;
  std::string role;
  std::string region;
  std::vector<std::string> departments;
  bool password_stdin = false;
  std::string user;  // who runs the command
  bool json = false;
  int64_t id = 0;
  int64_t after = 0;
  int limit = 100;
  std::string action;
  std::string out;
};

// The first line of stdin, without its line end.
Result<std::string> ReadPassword(bool zh) {
  std::string line;
  if (!std::getline(std::cin, line) && line.empty())
    return Err(InvalidArgument(zh ? "标准输入中没有密码（--password-stdin）"
                                  : "no password on stdin (--password-stdin)"));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<Role> ParseRoleArg(const std::string& name, bool zh) {
  Role role;
  if (!ParseRole(name, &role))
    return Err(InvalidArgument(fmt::format("{} '{}' ({})", zh ? "未知角色" : "unknown role", name,
                                           "admin, official, cadre, department, auditor")));
  return role;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// Opens the store; `create` lets `user add` and `token add` set up a new deployment.
Result<std::unique_ptr<store::Store>> Open(const std::string& db, bool create, bool zh) {
  if (create) return OpenCliStore(db);
  return OpenExisting(db, zh);
}

int UserAdd(const AccountArgs& a, Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto role = ParseRoleArg(a.role, zh);
  if (!role) return Fail(role.error(), zh);
  if (!a.password_stdin)
    return Fail(InvalidArgument(zh ? "请用 --password-stdin 从标准输入给出密码"
                                   : "give the password on stdin with --password-stdin"),
                zh);
  auto password = ReadPassword(zh);
  if (!password) return Fail(password.error(), zh);
  auto store = Open(a.db, true, zh);
  if (!store) return Fail(store.error(), zh);
  Status st = service::AddUser(**store, CliActor(a.user), a.name, *role, a.region,
                               service::SplitDatasets(a.departments), *password);
  if (!st.ok()) return Fail(st, zh);
  fmt::print("{} {} ({})\n", zh ? "已添加用户" : "added user", a.name, a.role);
  return kExitOk;
}

int UserList(const AccountArgs& a, Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto store = Open(a.db, false, zh);
  if (!store) return Fail(store.error(), zh);
  auto users = service::ListUsers(**store);
  if (!users) return Fail(users.error(), zh);
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& u : *users)
      out.push_back({{"id", u.id},
                     {"name", u.name},
                     {"role", RoleName(u.role)},
                     {"region", u.region},
                     {"datasets", u.datasets},
                     {"disabled", u.disabled},
                     {"created_at", u.created_at}});
    fmt::print("{}\n", out.dump(2));
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& u : *users)
    rows.push_back(
        {std::to_string(u.id), u.name, std::string(RoleName(u.role)), u.region, Join(u.datasets),
         u.disabled ? (zh ? "已停用" : "disabled") : (zh ? "启用" : "active"), u.created_at});
  fmt::print("{}", FormatTable({"id", zh ? "用户" : "user", zh ? "角色" : "role",
                                zh ? "区划" : "region", zh ? "数据集" : "datasets",
                                zh ? "状态" : "state", zh ? "创建时间" : "created"},
                               rows));
  return kExitOk;
}

int UserDisable(const AccountArgs& a, Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto store = Open(a.db, false, zh);
  if (!store) return Fail(store.error(), zh);
  if (Status st = service::DisableUser(**store, CliActor(a.user), a.name); !st.ok())
    return Fail(st, zh);
  fmt::print("{} {}\n", zh ? "已停用用户" : "disabled user", a.name);
  return kExitOk;
}

int UserPasswd(const AccountArgs& a, Lang lang) {
  const bool zh = lang == Lang::kZh;
  if (!a.password_stdin)
    return Fail(InvalidArgument(zh ? "请用 --password-stdin 从标准输入给出新密码"
                                   : "give the new password on stdin with --password-stdin"),
                zh);
  auto password = ReadPassword(zh);
  if (!password) return Fail(password.error(), zh);
  auto store = Open(a.db, false, zh);
  if (!store) return Fail(store.error(), zh);
  if (Status st = service::SetPassword(**store, CliActor(a.user), a.name, *password); !st.ok())
    return Fail(st, zh);
  fmt::print("{} {}\n",
             zh ? "已更改密码并结束其会话：" : "password changed, sessions ended:", a.name);
  return kExitOk;
}

int TokenAdd(const AccountArgs& a, Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto role = ParseRoleArg(a.role, zh);
  if (!role) return Fail(role.error(), zh);
  auto store = Open(a.db, true, zh);
  if (!store) return Fail(store.error(), zh);
  auto token = service::AddApiToken(**store, CliActor(a.user), a.name, *role, a.region,
                                    service::SplitDatasets(a.departments));
  if (!token) return Fail(token.error(), zh);
  // The token alone on stdout, for scripts; it is shown this once.
  fmt::print("{}\n", *token);
  fmt::print(stderr, "{}\n",
             zh ? "令牌只显示这一次，请妥善保存；数据库只保存其 SHA-256。"
                : "the token is shown this once: keep it safe; the database keeps only its "
                  "SHA-256.");
  return kExitOk;
}

int TokenList(const AccountArgs& a, Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto store = Open(a.db, false, zh);
  if (!store) return Fail(store.error(), zh);
  auto tokens = service::ListApiTokens(**store);
  if (!tokens) return Fail(tokens.error(), zh);
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& t : *tokens)
      out.push_back({{"id", t.id},
                     {"name", t.name},
                     {"role", RoleName(t.role)},
                     {"region", t.region},
                     {"datasets", t.datasets},
                     {"revoked", t.revoked},
                     {"created_at", t.created_at},
                     {"created_by", t.created_by}});
    fmt::print("{}\n", out.dump(2));
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : *tokens)
    rows.push_back({std::to_string(t.id), t.name, std::string(RoleName(t.role)), t.region,
                    Join(t.datasets),
                    t.revoked ? (zh ? "已吊销" : "revoked") : (zh ? "有效" : "active"),
                    t.created_at, t.created_by});
  fmt::print("{}",
             FormatTable({"id", zh ? "名称" : "name", zh ? "角色" : "role", zh ? "区划" : "region",
                          zh ? "数据集" : "datasets", zh ? "状态" : "state",
                          zh ? "创建时间" : "created", zh ? "创建人" : "by"},
                         rows));
  return kExitOk;
}

int TokenRevoke(const AccountArgs& a, Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto store = Open(a.db, false, zh);
  if (!store) return Fail(store.error(), zh);
  if (Status st = service::RevokeApiToken(**store, CliActor(a.user), a.id); !st.ok())
    return Fail(st, zh);
  fmt::print("{} {}\n", zh ? "已吊销令牌" : "revoked token", a.id);
  return kExitOk;
}

int AuditVerify(const AccountArgs& a, Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto store = Open(a.db, false, zh);
  if (!store) return Fail(store.error(), zh);
  auto verdict = service::VerifyAudit(**store);
  if (!verdict) return Fail(verdict.error(), zh);
  if (a.json) {
    fmt::print("{}\n", nlohmann::json{{"ok", verdict->ok},
                                      {"entries", verdict->entries},
                                      {"first_broken_seq", verdict->first_broken_seq},
                                      {"reason", verdict->reason},
                                      {"last_hash", verdict->last_hash}}
                           .dump(2));
    return verdict->ok ? kExitOk : kExitFailed;
  }
  if (!verdict->ok) {
    fmt::print(stderr, "{}: {} {}: {}\n", zh ? "审计链已损坏" : "audit chain broken",
               zh ? "第一个损坏的记录" : "first broken entry", verdict->first_broken_seq,
               verdict->reason);
    return kExitFailed;
  }
  fmt::print("{}: {} {}; {}: {}\n", zh ? "审计链完好" : "audit chain intact", verdict->entries,
             zh ? "条记录" : "entries", zh ? "最后哈希" : "last hash", verdict->last_hash);
  return kExitOk;
}

int AuditList(const AccountArgs& a, Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto store = Open(a.db, false, zh);
  if (!store) return Fail(store.error(), zh);
  auto rows = service::ReadAudit(**store, a.after, a.limit, a.action);
  if (!rows) return Fail(rows.error(), zh);
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : *rows)
      out.push_back({{"seq", r.seq},
                     {"at", r.at},
                     {"user", r.user},
                     {"role", r.role},
                     {"address", r.address},
                     {"action", r.action},
                     {"object", r.object},
                     {"detail", r.detail},
                     {"outcome", r.outcome}});
    fmt::print("{}\n", out.dump(2));
    return kExitOk;
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& r : *rows)
    table.push_back({std::to_string(r.seq), r.at, r.user, r.role, r.address, r.action, r.object,
                     r.detail, r.outcome});
  fmt::print("{}",
             FormatTable({"seq", zh ? "时间" : "at", zh ? "用户" : "user", zh ? "角色" : "role",
                          zh ? "地址" : "address", zh ? "操作" : "action", zh ? "对象" : "object",
                          zh ? "详情" : "detail", zh ? "结果" : "outcome"},
                         table));
  return kExitOk;
}

int Backup(const AccountArgs& a, Lang lang) {
  const bool zh = lang == Lang::kZh;
  auto store = Open(a.db, false, zh);
  if (!store) return Fail(store.error(), zh);
  if (Status st = service::BackupStore(**store, a.out); !st.ok()) return Fail(st, zh);
  fmt::print("{} {}\n", zh ? "已备份到" : "backed up to", a.out);
  return kExitOk;
}

using Runner = int (*)(const AccountArgs&, Lang);

CLI::App* Sub(CLI::App& parent, const char* name, const char* help,
              const std::shared_ptr<AccountArgs>& args, Runner run, int& exit_code,
              const Lang& lang) {
  CLI::App* c = parent.add_subcommand(name, help);
  c->add_option("--db", args->db, "SQLite database file")->required();
  c->callback([args, run, &exit_code, &lang] { exit_code = run(*args, lang); });
  return c;
}

void ScopeOptions(CLI::App* c, AccountArgs& a) {
  c->add_option("--role", a.role, "admin, official, cadre, department or auditor")->required();
  c->add_option("--region", a.region, "12-digit region code: the root of its region subtree")
      ->required();
  c->add_option("--department", a.departments,
                "a department officer's data set (repeat, or a comma list)");
  c->add_option("--user", a.user, "who does it (default: the OS user)");
}

}  // namespace

void AddAccountCommands(CLI::App& app, int& exit_code, const Lang& lang) {
  CLI::App* user = app.add_subcommand("user", "Users and roles / 用户与角色");
  user->require_subcommand(1);
  auto add = std::make_shared<AccountArgs>();
  CLI::App* c = Sub(*user, "add", "Add a user; password from stdin / 添加用户", add, &UserAdd,
                    exit_code, lang);
  c->add_option("name", add->name, "user name")->required();
  ScopeOptions(c, *add);
  c->add_flag("--password-stdin", add->password_stdin, "read the password from stdin");
  auto list = std::make_shared<AccountArgs>();
  c = Sub(*user, "list", "List users / 列出用户", list, &UserList, exit_code, lang);
  c->add_flag("--json", list->json, "machine-readable");
  auto disable = std::make_shared<AccountArgs>();
  c = Sub(*user, "disable", "Disable a user, end its sessions / 停用用户", disable, &UserDisable,
          exit_code, lang);
  c->add_option("name", disable->name, "user name")->required();
  c->add_option("--user", disable->user, "who does it (default: the OS user)");
  auto passwd = std::make_shared<AccountArgs>();
  c = Sub(*user, "passwd", "Set a user's password from stdin / 设置密码", passwd, &UserPasswd,
          exit_code, lang);
  c->add_option("name", passwd->name, "user name")->required();
  c->add_flag("--password-stdin", passwd->password_stdin, "read the password from stdin");
  c->add_option("--user", passwd->user, "who does it (default: the OS user)");

  CLI::App* token = app.add_subcommand("token", "API tokens for departments' systems / API 令牌");
  token->require_subcommand(1);
  auto tadd = std::make_shared<AccountArgs>();
  c = Sub(*token, "add", "Add a token, printed once / 添加令牌（只显示一次）", tadd, &TokenAdd,
          exit_code, lang);
  c->add_option("name", tadd->name, "token name (the calling system)")->required();
  ScopeOptions(c, *tadd);
  auto tlist = std::make_shared<AccountArgs>();
  c = Sub(*token, "list", "List tokens / 列出令牌", tlist, &TokenList, exit_code, lang);
  c->add_flag("--json", tlist->json, "machine-readable");
  auto revoke = std::make_shared<AccountArgs>();
  c = Sub(*token, "revoke", "Revoke a token for good / 吊销令牌", revoke, &TokenRevoke, exit_code,
          lang);
  c->add_option("id", revoke->id, "token id (token list)")->required();
  c->add_option("--user", revoke->user, "who does it (default: the OS user)");

  CLI::App* audit = app.add_subcommand("audit", "The audit log / 审计日志");
  audit->require_subcommand(1);
  auto verify = std::make_shared<AccountArgs>();
  c = Sub(*audit, "verify", "Check the hash chain; exit 1 naming the first broken entry / 校验",
          verify, &AuditVerify, exit_code, lang);
  c->add_flag("--json", verify->json, "machine-readable");
  auto alist = std::make_shared<AccountArgs>();
  c = Sub(*audit, "list", "List entries / 列出审计记录", alist, &AuditList, exit_code, lang);
  c->add_option("--after", alist->after, "entries after this seq");
  c->add_option("--limit", alist->limit, "at most this many")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  c->add_option("--action", alist->action, "only this action (login, write, ...)");
  c->add_flag("--json", alist->json, "machine-readable");

  auto backup = std::make_shared<AccountArgs>();
  c = Sub(app, "backup", "Online backup to a new file / 在线备份", backup, &Backup, exit_code,
          lang);
  c->add_option("--out", backup->out, "the backup file (must not exist)")->required();
}

}  // namespace fupin::cli
