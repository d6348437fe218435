#include "service/audit.h"

#include <fmt/format.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <system_error>
#include <utility>

#include "store/open.h"
#include "store/sqlite/sqlite_store.h"

namespace fupin::service {
namespace {

// UTC with milliseconds: "2026-12-07T04:21:09.123Z".
std::string NowUtcMillis() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:03d}Z", buf, ms);
}

store::AuditRecord MakeRecord(const Actor& actor, const AuditEntry& entry) {
  store::AuditRecord r;
  r.at = NowUtcMillis();
  r.user = actor.user;
  r.role = std::string(RoleName(actor.role));
  r.address = actor.address;
  r.action = entry.action;
  r.object = entry.object;
  r.detail = entry.detail;
  r.outcome = entry.outcome;
  return r;
}

void PutField(std::string& out, std::string_view field) {
  const auto n = static_cast<uint32_t>(field.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((n >> shift) & 0xFF));
  out.append(field);
}

bool HexToBytes(std::string_view hex, unsigned char* out, size_t n) {
  size_t len = 0;
  return sodium_hex2bin(out, n, hex.data(), hex.size(), nullptr, &len, nullptr) == 0 && len == n;
}

const store::PlatformStore::ChainFn& Chain() {
  static const store::PlatformStore::ChainFn chain = &AuditChainHash;
  return chain;
}

}  // namespace

std::string AuditChainHash(std::string_view previous_hash, const store::AuditRecord& r) {
  static const bool sodium_ready = sodium_init() >= 0;
  if (!sodium_ready) std::abort();  // libsodium cannot start: there is no safe way on
  unsigned char previous[crypto_hash_sha256_BYTES] = {};
  if (!previous_hash.empty() && !HexToBytes(previous_hash, previous, sizeof previous)) {
    // A stored hash that is not 64 hex digits: chain from its text instead, so that the next
    // entry still fails to verify against anything but this exact (broken) value.
    crypto_hash_sha256(previous, reinterpret_cast<const unsigned char*>(previous_hash.data()),
                       previous_hash.size());
  }
  std::string message(reinterpret_cast<const char*>(previous), sizeof previous);
  const auto seq = static_cast<uint64_t>(r.seq);
  for (int shift = 56; shift >= 0; shift -= 8)
    message.push_back(static_cast<char>((seq >> shift) & 0xFF));
  for (std::string_view f :
       {std::string_view(r.at), std::string_view(r.user), std::string_view(r.role),
        std::string_view(r.address), std::string_view(r.action), std::string_view(r.object),
        std::string_view(r.detail), std::string_view(r.outcome)})
    PutField(message, f);
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size());
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

// ---- AuditLog ----------------------------------------------------------------------------

AuditLog::AuditLog(std::string db_uri) : db_uri_(std::move(db_uri)) {
  writer_ = std::thread([this] { Run(); });
}

AuditLog::~AuditLog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  writer_.join();
}

void AuditLog::Append(const Actor& actor, AuditEntry entry) {
  store::AuditRecord r = MakeRecord(actor, entry);
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(r));
    ++appended_;
  }
  cv_.notify_all();
}

Status AuditLog::AppendNow(store::Store& store, const Actor& actor, const AuditEntry& entry) {
  const store::AuditRecord r = MakeRecord(actor, entry);
  return store.Platform().AppendAudit({&r, 1}, Chain());
}

Status AppendAuditNow(store::Store& store, const Actor& actor, const AuditEntry& entry) {
  return AuditLog::AppendNow(store, actor, entry);
}

Status AuditLog::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const int64_t target = appended_;
  const int64_t failures_before = failures_;
  ++flushing_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return written_ >= target || failures_ != failures_before; });
  --flushing_;
  return written_ >= target ? OkStatus() : last_error_;
}

Status AuditLog::Write(const std::vector<store::AuditRecord>& records) {
  if (!store_) {
    store::OpenOptions options;
    options.cache_mib = 4;
    options.bulk_journal = false;
    ASSIGN_OR_RETURN(store_, store::OpenStore(db_uri_, options));
  }
  return store_->Platform().AppendAudit(records, Chain());
}

void AuditLog::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping with nothing left
    // Group commit: gather what arrives within 50 ms, unless someone waits for it.
    if (!stop_ && flushing_ == 0)
      cv_.wait_for(lock, std::chrono::milliseconds(50), [&] { return stop_ || flushing_ > 0; });
    std::vector<store::AuditRecord> batch(std::make_move_iterator(queue_.begin()),
                                          std::make_move_iterator(queue_.end()));
    queue_.clear();
    lock.unlock();
    Status st = Write(batch);
    lock.lock();
    if (st.ok()) {
      written_ += static_cast<int64_t>(batch.size());
    } else {
      // Keep the entries, in order, ahead of anything queued since; try again after a pause.
      queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin()),
                    std::make_move_iterator(batch.end()));
      last_error_ = st;
      ++failures_;
    }
    cv_.notify_all();
    if (!st.ok()) {
      if (stop_) return;  // the destructor does not wait forever for a store that fails
      cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return stop_; });
    }
  }
}

// ---- reading and verifying ---------------------------------------------------------------

Result<std::vector<AuditRow>> ReadAudit(store::Store& store, int64_t after_seq, int limit,
                                        std::string_view action_filter) {
  limit = std::clamp(limit, 1, 10000);
  ASSIGN_OR_RETURN(auto records, store.Platform().ReadAudit(after_seq, limit, action_filter));
  std::vector<AuditRow> out;
  out.reserve(records.size());
  for (auto& r : records)
    out.push_back({r.seq, std::move(r.at), std::move(r.user), std::move(r.role),
                   std::move(r.address), std::move(r.action), std::move(r.object),
                   std::move(r.detail), std::move(r.outcome), std::move(r.hash)});
  return out;
}

Result<AuditVerdict> VerifyAudit(store::Store& store) {
  AuditVerdict v;
  std::string previous;
  int64_t expected = 1;
  auto broken = [&](int64_t seq, std::string reason) {
    v.ok = false;
    v.first_broken_seq = seq;
    v.reason = std::move(reason);
    return Status(StatusCode::kAborted, "");  // stops the scan; not an error
  };
  Status st = store.Platform().ForEachAudit([&](const store::AuditRecord& r) -> Status {
    if (r.seq != expected)
      return broken(
          expected,
          r.seq > expected
              ? fmt::format("entry {} is missing (deleted); the next entry present is "
                            "{} / 第 {} 条记录缺失（已被删除）",
                            expected, r.seq, expected)
              : fmt::format("entry {} is out of order / 第 {} 条记录顺序错乱", r.seq, r.seq));
    if (AuditChainHash(previous, r) != r.hash)
      return broken(r.seq, fmt::format("entry {} does not match its hash: it or the chain before "
                                       "it was edited / 第 {} 条记录与其哈希不符：已被篡改",
                                       r.seq, r.seq));
    previous = r.hash;
    ++v.entries;
    ++expected;
    return OkStatus();
  });
  if (!st.ok() && st.code() != StatusCode::kAborted) return Err(st);
  if (!v.ok) return v;
  ASSIGN_OR_RETURN(int64_t last_seq, store.Platform().LastAuditSeq());
  if (last_seq >= expected) {
    broken(expected, fmt::format("entries {} to {} at the end are missing (deleted) / "
                                 "末尾第 {} 至 {} 条记录缺失（已被删除）",
                                 expected, last_seq, expected, last_seq))
        .ok();
    return v;
  }
  v.last_hash = previous;
  return v;
}

// ---- backup ------------------------------------------------------------------------------

Status BackupStore(store::Store& store, const std::filesystem::path& out) {
  const std::filesystem::path tmp = out.string() + ".tmp";
  std::error_code ec;
  for (const auto& p : {out, tmp})
    if (std::filesystem::exists(p, ec))
      return AlreadyExists(fmt::format(
          "{} already exists; a backup never overwrites a file (remove it or choose another "
          "name) / {} 已存在；备份不会覆盖已有文件（请删除或换一个文件名）",
          p.string(), p.string()));
  Status st = store.Platform().Backup(tmp);
  // link() fails when `out` has appeared meanwhile: the rename never replaces a file.
  if (st.ok() && ::link(tmp.c_str(), out.c_str()) != 0)
    st = errno == EEXIST
             ? AlreadyExists(
                   fmt::format("{} already exists / {} 已存在", out.string(), out.string()))
             : Unavailable(fmt::format("cannot create {}: {}", out.string(), std::strerror(errno)));
  std::filesystem::remove(tmp, ec);
  return st;
}

}  // namespace fupin::service
