#include "service/accounts.h"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <utility>

#include "core/datasets.h"
#include "core/region_code.h"
#include "service/audit.h"

namespace fupin::service {
namespace {

void InitSodium() {
  static const bool ok = sodium_init() >= 0;
  if (!ok) std::abort();  // libsodium cannot start (no randomness): nothing here is safe
}

// 32 random bytes as base64url without padding (43 characters).
std::string RandomToken() {
  InitSodium();
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char out[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

Result<std::string> HashPassword(std::string_view password) {
  InitSodium();
  char hash[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(hash, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return Err(Unavailable("not enough memory to hash the password / 内存不足，无法计算密码哈希"));
  return std::string(hash);
}

bool PasswordMatches(const std::string& hash, std::string_view password) {
  InitSodium();
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

// A hash to verify against when the user does not exist, so that an unknown name takes as
// long as a wrong password.
const std::string& DummyHash() {
  static const std::string hash = HashPassword("no such user: dummy password").value_or("");
  return hash;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<std::string> SplitComma(std::string_view text) {
  return SplitDatasets({std::string(text)});
}

size_t CodePoints(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

Status CheckName(std::string_view name) {
  bool bad = name.empty() || name.size() > 64;
  for (unsigned char c : name)
    if (c <= 0x20 || c == 0x7F || c == ',') bad = true;
  if (bad)
    return InvalidArgument(fmt::format(
        "bad name '{}': 1 to 64 bytes without spaces, commas or control characters / 名称 "
        "'{}' 无效：须为 1 至 64 字节，不含空格、逗号或控制字符",
        name, name));
  return OkStatus();
}

Status CheckPassword(std::string_view password) {
  if (CodePoints(password) < 8)
    return InvalidArgument(
        "the password is too short: at least 8 characters / 密码太短：至少 8 个字符");
  return OkStatus();
}

// The checks a user and an API token share: region, data sets for the role.
Status CheckScope(store::Store& store, Role role, std::string_view region,
                  const std::vector<std::string>& datasets) {
  if (!IsRegionCode(region))
    return InvalidArgument(fmt::format(
        "bad region code '{}': 12 digits / 区划代码 '{}' 无效：须为 12 位数字", region, region));
  ASSIGN_OR_RETURN(auto regions, store.LoadRegions());
  if (std::none_of(regions.begin(), regions.end(),
                   [&](const store::Region& r) { return r.code == region; }))
    return InvalidArgument(fmt::format("unknown region {} / 未知区划 {}", region, region));
  for (const auto& d : datasets) {
    const DatasetSpec* spec = FindDataset(d);
    if (!spec || spec->kind != DatasetKind::kDepartment)
      return InvalidArgument(
          fmt::format("unknown department data set '{}' / 未知部门数据集 '{}'", d, d));
  }
  if (role == Role::kDepartment && datasets.empty())
    return InvalidArgument(
        "a department officer needs its data sets (--department) / 部门用户须指定其数据集 "
        "(--department)");
  if (role != Role::kDepartment && !datasets.empty())
    return InvalidArgument(fmt::format(
        "only the department role has data sets, not {} / 只有 department 角色才有数据集",
        RoleName(role)));
  return OkStatus();
}

// `by` may manage accounts in `region`: an admin whose subtree holds it. A refusal is audited.
Status CheckAdmin(store::Store& store, const Actor& by, std::string_view action,
                  std::string_view object, std::string_view region) {
  if (by.role == Role::kAdmin && (region.empty() || by.Sees(region))) return OkStatus();
  AppendAuditNow(store, by, {"denied", std::string(object), std::string(action), "denied"}).ok();
  return PermissionDenied(
      fmt::format("only an admin of region {} may do this / 只有区划 {} 的管理员可以执行此操作",
                  region, region));
}

Role RoleOf(const std::string& name) {
  Role role = Role::kCadre;
  ParseRole(name, &role);
  return role;
}

UserRecord ToRecord(store::UserRow u) {
  return {u.id,
          std::move(u.name),
          RoleOf(u.role),
          std::move(u.region),
          SplitComma(u.datasets),
          u.disabled,
          std::move(u.created_at)};
}

Result<store::UserRow> ExistingUser(store::Store& store, std::string_view name) {
  ASSIGN_OR_RETURN(auto user, store.Platform().FindUser(name));
  if (!user) return Err(NotFound(fmt::format("no user '{}' / 没有用户 '{}'", name, name)));
  return *std::move(user);
}

int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string UtcTime(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

const char kLoginFailed[] = "wrong user name or password / 用户名或密码错误";

}  // namespace

std::vector<std::string> SplitDatasets(const std::vector<std::string>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) {
    size_t start = 0;
    while (start <= v.size()) {
      size_t end = v.find(',', start);
      if (end == std::string::npos) end = v.size();
      std::string item = v.substr(start, end - start);
      item.erase(0, item.find_first_not_of(" \t"));
      item.erase(item.find_last_not_of(" \t") + 1);
      if (!item.empty() && std::find(out.begin(), out.end(), item) == out.end())
        out.push_back(std::move(item));
      start = end + 1;
    }
  }
  return out;
}

std::string Sha256Hex(std::string_view text) {
  InitSodium();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

// ---- users -------------------------------------------------------------------------------

Status AddUser(store::Store& store, const Actor& by, std::string_view name, Role role,
               std::string_view region, std::vector<std::string> datasets,
               std::string_view password) {
  datasets = SplitDatasets(datasets);
  RETURN_IF_ERROR(CheckName(name));
  RETURN_IF_ERROR(CheckScope(store, role, region, datasets));
  RETURN_IF_ERROR(CheckAdmin(store, by, "user add", name, region));
  RETURN_IF_ERROR(CheckPassword(password));
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  store::UserRow row{0,
                     std::string(name),
                     std::string(RoleName(role)),
                     std::string(region),
                     Join(datasets),
                     std::move(hash),
                     false,
                     ""};
  ASSIGN_OR_RETURN(int64_t id, store.Platform().AddUser(row));
  (void)id;
  return AppendAuditNow(
      store, by,
      {"user", std::string(name),
       fmt::format("add role={} region={} datasets={}", RoleName(role), region, row.datasets)});
}

Result<std::vector<UserRecord>> ListUsers(store::Store& store) {
  ASSIGN_OR_RETURN(auto rows, store.Platform().ListUsers());
  std::vector<UserRecord> out;
  out.reserve(rows.size());
  for (auto& r : rows) out.push_back(ToRecord(std::move(r)));
  return out;
}

Status DisableUser(store::Store& store, const Actor& by, std::string_view name) {
  ASSIGN_OR_RETURN(store::UserRow user, ExistingUser(store, name));
  RETURN_IF_ERROR(CheckAdmin(store, by, "user disable", name, user.region));
  RETURN_IF_ERROR(store.Platform().DisableUser(name));
  return AppendAuditNow(store, by, {"user", std::string(name), "disable"});
}

Result<std::vector<UserRecord>> ListUsersIn(store::Store& store, const Actor& by) {
  RETURN_IF_ERROR(CheckAdmin(store, by, "user list", "users", by.region));
  ASSIGN_OR_RETURN(auto rows, store.Platform().ListUsers());
  std::vector<UserRecord> out;
  for (auto& r : rows)
    if (by.Sees(r.region)) out.push_back(ToRecord(std::move(r)));
  return out;
}

Result<UserRecord> FindUserRecord(store::Store& store, std::string_view name) {
  ASSIGN_OR_RETURN(store::UserRow user, ExistingUser(store, name));
  return ToRecord(std::move(user));
}

Status EnableUser(store::Store& store, const Actor& by, std::string_view name) {
  ASSIGN_OR_RETURN(store::UserRow user, ExistingUser(store, name));
  RETURN_IF_ERROR(CheckAdmin(store, by, "user enable", name, user.region));
  RETURN_IF_ERROR(store.Platform().EnableUser(name));
  return AppendAuditNow(store, by, {"user", std::string(name), "enable"});
}

Status ChangeOwnPassword(store::Store& store, const Actor& self, std::string_view old_password,
                         std::string_view password) {
  ASSIGN_OR_RETURN(store::UserRow user, ExistingUser(store, self.user));
  if (self.user_id == 0 || self.user_id != user.id)
    return NotFound(fmt::format("no user '{}' / 没有用户 '{}'", self.user, self.user));
  if (!PasswordMatches(user.password_hash, old_password)) {
    AppendAuditNow(store, self, {"denied", self.user, "passwd: wrong current password", "denied"})
        .ok();
    return PermissionDenied("the current password is wrong / 当前密码不正确");
  }
  RETURN_IF_ERROR(CheckPassword(password));
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  RETURN_IF_ERROR(store.Platform().SetPasswordHash(self.user, hash));
  return AppendAuditNow(store, self, {"user", self.user, "passwd"});
}

Status SetPassword(store::Store& store, const Actor& by, std::string_view name,
                   std::string_view password) {
  ASSIGN_OR_RETURN(store::UserRow user, ExistingUser(store, name));
  if (!(by.user_id != 0 && by.user_id == user.id))
    RETURN_IF_ERROR(CheckAdmin(store, by, "user passwd", name, user.region));
  RETURN_IF_ERROR(CheckPassword(password));
  ASSIGN_OR_RETURN(std::string hash, HashPassword(password));
  RETURN_IF_ERROR(store.Platform().SetPasswordHash(name, hash));
  return AppendAuditNow(store, by, {"user", std::string(name), "passwd"});
}

// ---- sessions ----------------------------------------------------------------------------

Sessions::Sessions(SessionPolicy policy) : policy_(std::move(policy)) { InitSodium(); }

int64_t Sessions::Now() const { return policy_.now ? policy_.now() : SystemNow(); }

Status Sessions::CheckLock(store::Store& store, bool by_address, std::string_view key,
                           int64_t now) {
  if (key.empty()) return OkStatus();
  ASSIGN_OR_RETURN(int64_t until, store.Platform().LoginLockUntil(by_address, key));
  if (until <= now) return OkStatus();
  return Unavailable(fmt::format(
      "too many failed logins {}; try again after {} / {}登录失败次数过多，请于 {} 之后再试",
      by_address ? "from this address" : "for this user", UtcTime(until),
      by_address ? "此地址" : "此用户", UtcTime(until)));
}

Status Sessions::RecordFailure(store::Store& store, std::string_view user, std::string_view address,
                               int64_t now) {
  store::PlatformStore& p = store.Platform();
  RETURN_IF_ERROR(p.AddLoginFailure(now, user, address));
  const int64_t since = now - policy_.window_seconds;
  ASSIGN_OR_RETURN(int64_t by_user, p.CountLoginFailures(false, user, since));
  if (by_user >= policy_.max_user_failures)
    RETURN_IF_ERROR(p.AddLoginLock(false, user, now + policy_.lock_seconds));
  if (!address.empty()) {
    ASSIGN_OR_RETURN(int64_t by_address, p.CountLoginFailures(true, address, since));
    if (by_address >= policy_.max_address_failures)
      RETURN_IF_ERROR(p.AddLoginLock(true, address, now + policy_.lock_seconds));
  }
  return OkStatus();
}

Result<Session> Sessions::Login(store::Store& store, std::string_view user,
                                std::string_view password, std::string_view address) {
  const int64_t now = Now();
  Actor attempt{std::string(user), Role::kCadre, "", {}, std::string(address), 0};
  for (bool by_address : {false, true}) {
    Status locked = CheckLock(store, by_address, by_address ? address : user, now);
    if (!locked.ok()) {
      AppendAuditNow(store, attempt, {"login_failed", std::string(user), "throttled", "denied"})
          .ok();
      return Err(locked);
    }
  }
  ASSIGN_OR_RETURN(auto found, store.Platform().FindUser(user));
  const bool matches = PasswordMatches(found ? found->password_hash : DummyHash(), password);
  if (!found || !matches || found->disabled) {
    RETURN_IF_ERROR(RecordFailure(store, user, address, now));
    if (found) attempt.role = RoleOf(found->role);
    RETURN_IF_ERROR(AppendAuditNow(
        store, attempt,
        {"login_failed", std::string(user),
         !found ? "unknown user" : (!matches ? "wrong password" : "disabled user"), "failed"}));
    return Err(Unauthenticated(kLoginFailed));
  }
  // Housekeeping; a session seen within idle_seconds may have been written up to
  // touch_seconds earlier.
  RETURN_IF_ERROR(store.Platform().PurgeLogins(now - policy_.absolute_seconds,
                                               now - policy_.idle_seconds - policy_.touch_seconds,
                                               now - policy_.window_seconds, now));
  Session s;
  s.token = RandomToken();
  s.csrf = RandomToken();
  s.user_id = found->id;
  s.actor = {found->name,          RoleOf(found->role),
             found->region,        SplitComma(found->datasets),
             std::string(address), found->id};
  const std::string token_hash = Sha256Hex(s.token);
  RETURN_IF_ERROR(store.Platform().ClearLoginFailures(user));
  RETURN_IF_ERROR(
      store.Platform().AddSession({token_hash, found->id, s.csrf, now, now, std::string(address)}));
  RETURN_IF_ERROR(AppendAuditNow(store, s.actor, {"login", found->name, ""}));
  std::lock_guard<std::mutex> lock(mu_);
  if (cache_.size() > 100000) cache_.clear();  // a bound; entries are rebuilt from the store
  cache_[token_hash] = {s, now, now};
  return s;
}

Result<Session> Sessions::Find(store::Store& store, std::string_view token) {
  const std::string token_hash = Sha256Hex(token);
  const int64_t now = Now();
  ASSIGN_OR_RETURN(auto row, store.Platform().FindSession(token_hash));
  auto forget = [&] {
    std::lock_guard<std::mutex> lock(mu_);
    cache_.erase(token_hash);
  };
  if (!row) {
    forget();
    return Err(Unauthenticated("not logged in or the session has ended / 未登录或会话已结束"));
  }
  Cached entry;
  bool cached = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = cache_.find(token_hash); it != cache_.end()) {
      entry = it->second;
      cached = true;
    }
  }
  if (!cached) {
    ASSIGN_OR_RETURN(auto user, store.Platform().GetUser(row->user_id));
    if (!user || user->disabled)
      return Err(Unauthenticated("not logged in or the session has ended / 未登录或会话已结束"));
    entry.session = {std::string(token), row->csrf,
                     Actor{user->name, RoleOf(user->role), user->region, SplitComma(user->datasets),
                           row->address, user->id},
                     user->id};
    entry.last_written = row->last_seen;
  }
  const int64_t last_seen = std::max(entry.last_seen, row->last_seen);
  if (now - row->created_at >= policy_.absolute_seconds ||
      now - last_seen >= policy_.idle_seconds) {
    forget();
    (void)store.Platform().EndSession(token_hash);  // tidying; the answer stands either way
    return Err(Unauthenticated("the session has expired; log in again / 会话已过期，请重新登录"));
  }
  entry.last_seen = now;
  if (now - std::max(entry.last_written, row->last_seen) >= policy_.touch_seconds) {
    RETURN_IF_ERROR(store.Platform().TouchSession(token_hash, now));
    entry.last_written = now;
  }
  Session out = entry.session;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cache_.size() > 100000) cache_.clear();
    auto& slot = cache_[token_hash];
    slot.session = std::move(entry.session);
    slot.last_seen = std::max(slot.last_seen, entry.last_seen);
    slot.last_written = std::max(slot.last_written, entry.last_written);
  }
  return out;
}

Status Sessions::Logout(store::Store& store, std::string_view token) {
  const std::string token_hash = Sha256Hex(token);
  ASSIGN_OR_RETURN(auto row, store.Platform().FindSession(token_hash));
  ASSIGN_OR_RETURN(bool ended, store.Platform().EndSession(token_hash));
  Session session;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = cache_.find(token_hash); it != cache_.end()) session = it->second.session;
    cache_.erase(token_hash);
  }
  if (!ended || !row)
    return Unauthenticated("not logged in or the session has ended / 未登录或会话已结束");
  Actor actor = session.actor;
  if (actor.user.empty()) {
    ASSIGN_OR_RETURN(auto user, store.Platform().GetUser(row->user_id));
    if (user) actor = {user->name, RoleOf(user->role), user->region, {}, row->address, user->id};
  }
  return AppendAuditNow(store, actor, {"logout", actor.user, ""});
}

bool Sessions::CsrfMatches(const Session& session, std::string_view csrf) {
  return !session.csrf.empty() && csrf.size() == session.csrf.size() &&
         sodium_memcmp(csrf.data(), session.csrf.data(), csrf.size()) == 0;
}

Result<Actor> Sessions::FindApiToken(store::Store& store, std::string_view bearer) {
  ASSIGN_OR_RETURN(auto token, store.Platform().FindApiToken(Sha256Hex(bearer)));
  if (!token) return Err(Unauthenticated("unknown or revoked API token / API 令牌无效或已吊销"));
  return Actor{token->name, RoleOf(token->role), token->region, SplitComma(token->datasets), "", 0};
}

// ---- API tokens --------------------------------------------------------------------------

Result<std::string> AddApiToken(store::Store& store, const Actor& by, std::string_view name,
                                Role role, std::string_view region,
                                std::vector<std::string> datasets) {
  datasets = SplitDatasets(datasets);
  RETURN_IF_ERROR(CheckName(name));
  RETURN_IF_ERROR(CheckScope(store, role, region, datasets));
  RETURN_IF_ERROR(CheckAdmin(store, by, "token add", name, region));
  std::string token = "fpt_" + RandomToken();
  store::ApiTokenRow row{0,
                         std::string(name),
                         std::string(RoleName(role)),
                         std::string(region),
                         Join(datasets),
                         Sha256Hex(token),
                         false,
                         "",
                         by.user};
  ASSIGN_OR_RETURN(int64_t id, store.Platform().AddApiToken(row));
  RETURN_IF_ERROR(AppendAuditNow(store, by,
                                 {"token", std::string(name),
                                  fmt::format("add id={} role={} region={} datasets={}", id,
                                              RoleName(role), region, row.datasets)}));
  return token;
}

Status RevokeApiToken(store::Store& store, const Actor& by, int64_t token_id) {
  ASSIGN_OR_RETURN(auto tokens, store.Platform().ListApiTokens());
  auto it = std::find_if(tokens.begin(), tokens.end(),
                         [&](const store::ApiTokenRow& t) { return t.id == token_id; });
  if (it == tokens.end())
    return NotFound(
        fmt::format("no API token with id {} / 没有编号为 {} 的 API 令牌", token_id, token_id));
  RETURN_IF_ERROR(CheckAdmin(store, by, "token revoke", it->name, it->region));
  RETURN_IF_ERROR(store.Platform().RevokeApiToken(token_id));
  return AppendAuditNow(store, by, {"token", it->name, fmt::format("revoke id={}", token_id)});
}

Result<std::vector<ApiTokenRecord>> ListApiTokens(store::Store& store) {
  ASSIGN_OR_RETURN(auto rows, store.Platform().ListApiTokens());
  std::vector<ApiTokenRecord> out;
  for (auto& t : rows)
    out.push_back({t.id, std::move(t.name), RoleOf(t.role), std::move(t.region),
                   SplitComma(t.datasets), t.revoked, std::move(t.created_at),
                   std::move(t.created_by)});
  return out;
}

}  // namespace fupin::service
