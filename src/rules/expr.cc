#include "rules/expr.h"

#include <fmt/format.h>

#include <cmath>
#include <utility>

#include "core/date.h"
#include "core/text.h"

namespace fupin::rules {

namespace {

// ---- lexer -------------------------------------------------------------------------------

enum class Tok : uint8_t {
  kEnd,
  kNumber,
  kString,
  kIdent,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kDot,
  kArrow,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kAnd,
  kOr,
  kNot,
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // identifier name or string value
  double num = 0;
  uint32_t pos = 0;
};

struct Fail {
  CompileError error;
};

[[noreturn]] void Throw(uint32_t pos, std::string message) {
  throw Fail{{pos, std::move(message)}};
}

bool IsIdentStart(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsIdentChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::vector<Token> Lex(std::string_view s) {
  std::vector<Token> out;
  size_t i = 0;
  auto push = [&](Tok k, size_t at, size_t len) {
    Token t;
    t.kind = k;
    t.pos = static_cast<uint32_t>(at);
    out.push_back(std::move(t));
    i = at + len;
  };
  while (i < s.size()) {
    const char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    if (c == '#') {  // comment to the end of the line
      while (i < s.size() && s[i] != '\n') ++i;
      continue;
    }
    const size_t at = i;
    if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.')) ++j;
      const std::string digits(s.substr(i, j - i));
      char* end = nullptr;
      const double v = std::strtod(digits.c_str(), &end);
      if (end != digits.c_str() + digits.size() || !std::isfinite(v) || v > 1e15)
        Throw(static_cast<uint32_t>(at), "bad number '" + digits + "'");
      Token t;
      t.kind = Tok::kNumber;
      t.num = v;
      t.pos = static_cast<uint32_t>(at);
      out.push_back(std::move(t));
      i = j;
      continue;
    }
    if (c == '"' || c == '\'') {
      size_t j = i + 1;
      std::string value;
      while (j < s.size() && s[j] != c) {
        if (s[j] == '\\' && j + 1 < s.size()) ++j;
        value.push_back(s[j++]);
      }
      if (j >= s.size()) Throw(static_cast<uint32_t>(at), "string not closed");
      Token t;
      t.kind = Tok::kString;
      t.text = std::move(value);
      t.pos = static_cast<uint32_t>(at);
      out.push_back(std::move(t));
      i = j + 1;
      continue;
    }
    if (IsIdentStart(c)) {
      size_t j = i;
      while (j < s.size() && IsIdentChar(s[j])) ++j;
      std::string word(s.substr(i, j - i));
      Token t;
      t.pos = static_cast<uint32_t>(at);
      if (word == "and") {
        t.kind = Tok::kAnd;
      } else if (word == "or") {
        t.kind = Tok::kOr;
      } else if (word == "not") {
        t.kind = Tok::kNot;
      } else {
        t.kind = Tok::kIdent;
        t.text = std::move(word);
      }
      out.push_back(std::move(t));
      i = j;
      continue;
    }
    const char n = i + 1 < s.size() ? s[i + 1] : '\0';
    switch (c) {
      case '(':
        push(Tok::kLParen, at, 1);
        continue;
      case ')':
        push(Tok::kRParen, at, 1);
        continue;
      case '[':
        push(Tok::kLBracket, at, 1);
        continue;
      case ']':
        push(Tok::kRBracket, at, 1);
        continue;
      case ',':
        push(Tok::kComma, at, 1);
        continue;
      case '.':
        push(Tok::kDot, at, 1);
        continue;
      case '+':
        push(Tok::kPlus, at, 1);
        continue;
      case '-':
        push(Tok::kMinus, at, 1);
        continue;
      case '*':
        push(Tok::kStar, at, 1);
        continue;
      case '/':
        push(Tok::kSlash, at, 1);
        continue;
      case '=':
        if (n == '>') {
          push(Tok::kArrow, at, 2);
          continue;
        }
        if (n == '=') {
          push(Tok::kEq, at, 2);
          continue;
        }
        Throw(static_cast<uint32_t>(at), "'=' is not an operator: use == to compare");
      case '!':
        if (n == '=') {
          push(Tok::kNe, at, 2);
          continue;
        }
        push(Tok::kNot, at, 1);
        continue;
      case '<':
        if (n == '=') {
          push(Tok::kLe, at, 2);
          continue;
        }
        push(Tok::kLt, at, 1);
        continue;
      case '>':
        if (n == '=') {
          push(Tok::kGe, at, 2);
          continue;
        }
        push(Tok::kGt, at, 1);
        continue;
      case '&':
        if (n == '&') {
          push(Tok::kAnd, at, 2);
          continue;
        }
        break;
      case '|':
        if (n == '|') {
          push(Tok::kOr, at, 2);
          continue;
        }
        break;
      default:
        break;
    }
    size_t after = at;
    const char32_t cp = NextCodePoint(s, after);
    if (cp >= 0x80 && cp != kNotUtf8) {
      const bool full_width = cp >= 0xFF01 && cp <= 0xFF5E;
      const bool quote = cp == 0x201C || cp == 0x201D || cp == 0x2018 || cp == 0x2019;
      Throw(static_cast<uint32_t>(at),
            fmt::format("unexpected character '{}' (U+{:04X}){}", s.substr(at, after - at),
                        static_cast<uint32_t>(cp),
                        full_width ? ": a full-width form; write ASCII ( ) , = and quotes"
                        : quote    ? ": write ASCII quotes \" or '"
                                   : ""));
    }
    Throw(static_cast<uint32_t>(at), cp == kNotUtf8 ? std::string("bytes that are not UTF-8")
                                                    : fmt::format("unexpected character '{}'", c));
  }
  Token end;
  end.pos = static_cast<uint32_t>(s.size());
  out.push_back(std::move(end));
  return out;
}

bool Scalar(VType t) {
  return t == VType::kNumber || t == VType::kText || t == VType::kDate || t == VType::kBool ||
         t == VType::kCodes;
}

}  // namespace

// Sets Node::binds over a tree; returns it for the root.
bool MarkBinds(Node& n) {
  bool binds = n.slot >= 0 && (n.op == Op::kAny || n.op == Op::kAll || n.op == Op::kCount ||
                               n.op == Op::kSum || n.op == Op::kMinOf || n.op == Op::kMaxOf);
  for (Node& k : n.kids) binds |= MarkBinds(k);
  n.binds = binds;
  return binds;
}

// ---- parser and type checker -----------------------------------------------------------

class Parser {
 public:
  Parser(Compiler& c, std::string_view text, bool person)
      : c_(c), toks_(Lex(text)), person_(person) {}

  Node ParseAll() {
    if (toks_.size() > kMaxTokens)
      Throw(toks_[kMaxTokens].pos,
            fmt::format("the expression is too long (more than {} tokens)", kMaxTokens));
    Node n = Or();
    if (Peek().kind != Tok::kEnd) Throw(Peek().pos, "unexpected text after the expression");
    return n;
  }

 private:
  const Token& Peek(size_t ahead = 0) const {
    return toks_[std::min(i_ + ahead, toks_.size() - 1)];
  }
  Token Next() { return toks_[std::min(i_++, toks_.size() - 1)]; }
  bool Accept(Tok k) {
    if (Peek().kind != k) return false;
    ++i_;
    return true;
  }
  void Expect(Tok k, std::string_view what) {
    if (!Accept(k)) Throw(Peek().pos, fmt::format("expected {}", what));
  }

  static Node Make(Op op, VType type, uint32_t pos) {
    Node n;
    n.op = op;
    n.type = type;
    n.pos = pos;
    return n;
  }
  static void RequireType(const Node& n, VType t, std::string_view context) {
    if (n.type != t)
      Throw(n.pos,
            fmt::format("{} needs a {}, not a {}", context, VTypeName(t), VTypeName(n.type)));
  }

  static constexpr size_t kMaxTokens = 20000;
  static constexpr int kMaxDepth = 200;
  // Counts nesting (parentheses, not, unary minus, calls) so that a hostile file gets an
  // error, not a stack overflow.
  struct Depth {
    Depth(Parser& p, uint32_t pos) : p_(p) {
      if (++p_.depth_ > kMaxDepth)
        Throw(pos, fmt::format("the expression nests too deeply (more than {} levels)", kMaxDepth));
    }
    ~Depth() { --p_.depth_; }
    Parser& p_;
  };

  Node Or() {
    Depth guard(*this, Peek().pos);
    Node left = And();
    while (Peek().kind == Tok::kOr) {
      const uint32_t pos = Next().pos;
      Node right = And();
      RequireType(left, VType::kBool, "'or'");
      RequireType(right, VType::kBool, "'or'");
      Node n = Make(Op::kOr, VType::kBool, pos);
      n.kids.push_back(std::move(left));
      n.kids.push_back(std::move(right));
      left = std::move(n);
    }
    return left;
  }

  Node And() {
    Node left = NotExpr();
    while (Peek().kind == Tok::kAnd) {
      const uint32_t pos = Next().pos;
      Node right = NotExpr();
      RequireType(left, VType::kBool, "'and'");
      RequireType(right, VType::kBool, "'and'");
      Node n = Make(Op::kAnd, VType::kBool, pos);
      n.kids.push_back(std::move(left));
      n.kids.push_back(std::move(right));
      left = std::move(n);
    }
    return left;
  }

  Node NotExpr() {
    if (Peek().kind == Tok::kNot) {
      Depth guard(*this, Peek().pos);
      const uint32_t pos = Next().pos;
      Node inner = NotExpr();
      RequireType(inner, VType::kBool, "'not'");
      Node n = Make(Op::kNot, VType::kBool, pos);
      n.kids.push_back(std::move(inner));
      return n;
    }
    return Comparison();
  }

  Node Comparison() {
    Node left = Additive();
    const Tok k = Peek().kind;
    const uint32_t pos = Peek().pos;
    if (k == Tok::kNot && Peek(1).kind == Tok::kIdent && Peek(1).text == "in") {
      Next();
      Next();
      Node n = Make(Op::kNot, VType::kBool, pos);
      n.kids.push_back(InList(std::move(left), pos));
      return n;
    }
    if (k == Tok::kIdent && Peek().text == "in") {
      Next();
      return InList(std::move(left), pos);
    }
    Op op;
    switch (k) {
      case Tok::kEq:
        op = Op::kEq;
        break;
      case Tok::kNe:
        op = Op::kNe;
        break;
      case Tok::kLt:
        op = Op::kLt;
        break;
      case Tok::kLe:
        op = Op::kLe;
        break;
      case Tok::kGt:
        op = Op::kGt;
        break;
      case Tok::kGe:
        op = Op::kGe;
        break;
      default:
        return left;
    }
    Next();
    Node right = Additive();
    // x == null / x != null test for a missing value.
    if ((op == Op::kEq || op == Op::kNe) &&
        (left.type == VType::kNull || right.type == VType::kNull)) {
      Node& value = left.type == VType::kNull ? right : left;
      if (!Scalar(value.type) && value.type != VType::kEntity)
        Throw(value.pos, "only a value can be compared with null");
      Node n = Make(Op::kIsNull, VType::kBool, pos);
      n.kids.push_back(std::move(value));
      if (op == Op::kEq) return n;
      Node neg = Make(Op::kNot, VType::kBool, pos);
      neg.kids.push_back(std::move(n));
      return neg;
    }
    if (!Scalar(left.type) || left.type == VType::kCodes)
      Throw(left.pos, fmt::format("a {} cannot be compared", VTypeName(left.type)));
    if (left.type != right.type)
      Throw(pos, fmt::format("cannot compare a {} with a {}", VTypeName(left.type),
                             VTypeName(right.type)));
    if (left.type != VType::kNumber && left.type != VType::kDate && op != Op::kEq && op != Op::kNe)
      Throw(pos, fmt::format("a {} can only be compared with == or !=", VTypeName(left.type)));
    Node n = Make(op, VType::kBool, pos);
    n.kids.push_back(std::move(left));
    n.kids.push_back(std::move(right));
    return n;
  }

  Node InList(Node left, uint32_t pos) {
    if (left.type != VType::kNumber && left.type != VType::kText)
      Throw(left.pos,
            fmt::format("'in' needs a number or text on its left, not a {}", VTypeName(left.type)));
    Expect(Tok::kLBracket, "'[' to start the list after 'in'");
    Node n = Make(Op::kIn, VType::kBool, pos);
    if (!Accept(Tok::kRBracket)) {
      for (;;) {
        const Token t = Next();
        double sign = 1;
        Token v = t;
        if (t.kind == Tok::kMinus && Peek().kind == Tok::kNumber) {
          sign = -1;
          v = Next();
        }
        if (left.type == VType::kNumber && v.kind == Tok::kNumber) {
          n.list_num.push_back(sign * v.num);
        } else if (left.type == VType::kText && v.kind == Tok::kString) {
          n.list_text.push_back(v.text);
        } else {
          Throw(t.pos, fmt::format("the list must hold {} constants", VTypeName(left.type)));
        }
        if (Accept(Tok::kRBracket)) break;
        Expect(Tok::kComma, "',' or ']' in the list");
      }
    }
    n.kids.push_back(std::move(left));
    return n;
  }

  Node Additive() {
    Node left = Multiplicative();
    for (;;) {
      const Tok k = Peek().kind;
      if (k != Tok::kPlus && k != Tok::kMinus) return left;
      const uint32_t pos = Next().pos;
      Node right = Multiplicative();
      VType type = VType::kNumber;
      if (k == Tok::kPlus) {
        if (left.type == VType::kDate && right.type == VType::kNumber) {
          type = VType::kDate;
        } else {
          RequireType(left, VType::kNumber, "'+'");
          RequireType(right, VType::kNumber, "'+'");
        }
      } else if (left.type == VType::kDate && right.type == VType::kDate) {
        type = VType::kNumber;  // days between
      } else if (left.type == VType::kDate && right.type == VType::kNumber) {
        type = VType::kDate;
      } else {
        RequireType(left, VType::kNumber, "'-'");
        RequireType(right, VType::kNumber, "'-'");
      }
      Node n = Make(k == Tok::kPlus ? Op::kAdd : Op::kSub, type, pos);
      n.kids.push_back(std::move(left));
      n.kids.push_back(std::move(right));
      left = std::move(n);
    }
  }

  Node Multiplicative() {
    Node left = Unary();
    for (;;) {
      const Tok k = Peek().kind;
      if (k != Tok::kStar && k != Tok::kSlash) return left;
      const uint32_t pos = Next().pos;
      Node right = Unary();
      RequireType(left, VType::kNumber, k == Tok::kStar ? "'*'" : "'/'");
      RequireType(right, VType::kNumber, k == Tok::kStar ? "'*'" : "'/'");
      Node n = Make(k == Tok::kStar ? Op::kMul : Op::kDiv, VType::kNumber, pos);
      n.kids.push_back(std::move(left));
      n.kids.push_back(std::move(right));
      left = std::move(n);
    }
  }

  Node Unary() {
    if (Peek().kind == Tok::kMinus) {
      Depth guard(*this, Peek().pos);
      const uint32_t pos = Next().pos;
      Node inner = Unary();
      RequireType(inner, VType::kNumber, "'-'");
      Node n = Make(Op::kNeg, VType::kNumber, pos);
      n.kids.push_back(std::move(inner));
      return n;
    }
    return Postfix();
  }

  Node Postfix() {
    Node base = Primary();
    while (Peek().kind == Tok::kDot) {
      Next();
      const Token name = Next();
      if (name.kind != Tok::kIdent) Throw(name.pos, "expected a field name after '.'");
      base = Member(std::move(base), name);
    }
    return base;
  }

  Node Member(Node base, const Token& name) {
    if (base.type != VType::kEntity || base.op != Op::kVar)
      Throw(name.pos,
            fmt::format("'.{}': only a household, member or record has fields", name.text));
    const Schema& schema = Schema::Get();
    const int field = schema.FindField(base.entity, name.text);
    if (field >= 0) {
      const Field& f = schema.entity(base.entity).fields[static_cast<size_t>(field)];
      c_.usage_.Use(base.entity, field);
      Node n = Make(Op::kField, f.type, name.pos);
      n.entity = base.entity;
      n.slot = base.slot;
      n.field = field;
      return n;
    }
    const int ds = schema.DatasetEntity(name.text);
    if (ds >= 0 && (base.entity == kMember || base.entity == kHousehold)) {
      c_.usage_.records[static_cast<size_t>(ds)] = true;
      Node n = Make(base.entity == kMember ? Op::kMemberRecords : Op::kHouseholdRecords,
                    VType::kCollection, name.pos);
      n.entity = ds;
      n.slot = base.slot;
      return n;
    }
    Throw(name.pos,
          fmt::format("{} has no field '{}'", schema.entity(base.entity).name, name.text));
  }

  Node Primary() {
    const Token t = Next();
    switch (t.kind) {
      case Tok::kNumber: {
        Node n = Make(Op::kConst, VType::kNumber, t.pos);
        n.num = t.num;
        return n;
      }
      case Tok::kString: {
        Node n = Make(Op::kConst, VType::kText, t.pos);
        n.text = t.text;
        return n;
      }
      case Tok::kLParen: {
        Node n = Or();
        Expect(Tok::kRParen, "')'");
        return n;
      }
      case Tok::kIdent:
        break;
      default:
        Throw(t.pos, "expected a value, a name or '('");
    }
    if (Peek().kind == Tok::kLParen) return Call(t);
    if (t.text == "true" || t.text == "false") {
      Node n = Make(Op::kConst, VType::kBool, t.pos);
      n.num = t.text == "true" ? 1 : 0;
      return n;
    }
    if (t.text == "null") {
      Node n = Make(Op::kConst, VType::kNull, t.pos);
      n.num = std::nan("");
      return n;
    }
    if (t.text == "as_of") return Make(Op::kAsOf, VType::kDate, t.pos);
    if (t.text == "members") {
      Node n = Make(Op::kMembers, VType::kCollection, t.pos);
      n.entity = kMember;
      return n;
    }
    // The innermost variable of that name in scope; in a template, the last one declared.
    bool out_of_scope = false;
    for (auto it = c_.variables_.rbegin(); it != c_.variables_.rend(); ++it) {
      const Variable& v = *it;
      if (v.name != t.text) continue;
      if (!InScope(v.slot)) {
        out_of_scope = true;
        continue;
      }
      Node n = Make(Op::kVar, VType::kEntity, t.pos);
      n.entity = v.entity;
      n.slot = v.slot;
      return n;
    }
    if (out_of_scope)
      Throw(t.pos, fmt::format("'{}' is only known inside its own any/all/count/sum", t.text));
    if (t.text == "member" && !person_)
      Throw(t.pos, "'member' is only known in rules with scope = \"person\"");
    Throw(t.pos, fmt::format("unknown name '{}'", t.text));
  }

  // One argument that may be a lambda `x => body` over a collection of `entity`.
  Node LambdaBody(int entity, int& slot) {
    if (Peek().kind == Tok::kIdent && Peek(1).kind == Tok::kArrow) {
      const Token name = Next();
      Next();
      // Templates see every variable of the condition by name: names must be unique.
      for (const Variable& v : c_.variables_)
        if (v.name == name.text)
          Throw(name.pos, fmt::format("'{}' is already a variable of this rule: choose another "
                                      "name",
                                      name.text));
      if (c_.variables_.size() >= static_cast<size_t>(kMaxSlots))
        Throw(name.pos, fmt::format("a rule may have at most {} variables", kMaxSlots - 2));
      if (name.text == "members" || name.text == "member" || name.text == "household")
        Throw(name.pos, fmt::format("'{}' is a reserved name", name.text));
      slot = static_cast<int>(c_.variables_.size());
      c_.variables_.push_back({name.text, entity, slot});
      c_.slot_count_ = std::max(c_.slot_count_, static_cast<int>(c_.variables_.size()));
      scope_.resize(c_.variables_.size(), true);
      scope_[static_cast<size_t>(slot)] = true;
      Node body = Or();
      scope_[static_cast<size_t>(slot)] = false;
      return body;
    }
    Throw(Peek().pos, "expected a function of each element, like x => x.age > 60");
  }

  Node Call(const Token& name) {
    Next();  // (
    const std::string& f = name.text;
    const uint32_t pos = name.pos;
    auto args_end = [&] { Expect(Tok::kRParen, "')' to close the call"); };
    // Quantifiers and aggregates over a collection.
    if (f == "any" || f == "all" || f == "count" || f == "sum" ||
        ((f == "min" || f == "max") && IsCollectionAhead())) {
      Node coll = Or();
      if (coll.type != VType::kCollection)
        Throw(coll.pos, fmt::format("{}() needs a collection (members, or a member's department "
                                    "records) first",
                                    f));
      Op op = f == "any"     ? Op::kAny
              : f == "all"   ? Op::kAll
              : f == "count" ? Op::kCount
              : f == "sum"   ? Op::kSum
              : f == "min"   ? Op::kMinOf
                             : Op::kMaxOf;
      Node n = Make(op, op == Op::kAny || op == Op::kAll ? VType::kBool : VType::kNumber, pos);
      n.entity = coll.entity;
      n.kids.push_back(std::move(coll));
      if (Accept(Tok::kComma)) {
        int slot = -1;
        Node body = LambdaBody(n.entity, slot);
        n.slot = slot;
        if (op == Op::kAny || op == Op::kAll || op == Op::kCount) {
          RequireType(body, VType::kBool, fmt::format("the condition of {}()", f));
        } else {
          RequireType(body, VType::kNumber, fmt::format("the value of {}()", f));
        }
        n.kids.push_back(std::move(body));
      } else if (op == Op::kAll || op == Op::kSum || op == Op::kMinOf || op == Op::kMaxOf) {
        Throw(Peek().pos, fmt::format("{}() needs a function of each element after the "
                                      "collection",
                                      f));
      }
      args_end();
      return n;
    }
    std::vector<Node> args;
    if (!Accept(Tok::kRParen)) {
      for (;;) {
        args.push_back(Or());
        if (Accept(Tok::kRParen)) break;
        Expect(Tok::kComma, "',' or ')'");
      }
    }
    auto arity = [&](size_t n) {
      if (args.size() != n)
        Throw(pos, fmt::format("{}() takes {} argument{}", f, n, n == 1 ? "" : "s"));
    };
    auto unary = [&](Op op, VType in, VType out) {
      arity(1);
      RequireType(args[0], in, f + "()");
      Node n = Make(op, out, pos);
      n.kids.push_back(std::move(args[0]));
      return n;
    };
    if (f == "is_null" || f == "missing") {
      arity(1);
      if (!Scalar(args[0].type) && args[0].type != VType::kEntity)
        Throw(args[0].pos, f + "() needs a value");
      Node n = Make(Op::kIsNull, VType::kBool, pos);
      n.kids.push_back(std::move(args[0]));
      return n;
    }
    if (f == "coalesce") {
      arity(2);
      if (args[0].type != args[1].type || !Scalar(args[0].type))
        Throw(pos, "coalesce() needs two values of the same type");
      Node n = Make(Op::kCoalesce, args[0].type, pos);
      n.kids = std::move(args);
      return n;
    }
    if (f == "abs") return unary(Op::kAbs, VType::kNumber, VType::kNumber);
    if (f == "years_between") {
      arity(2);
      RequireType(args[0], VType::kDate, "years_between()");
      RequireType(args[1], VType::kDate, "years_between()");
      Node n = Make(Op::kYearsBetween, VType::kNumber, pos);
      n.kids = std::move(args);
      return n;
    }
    if (f == "year") return unary(Op::kYearOf, VType::kDate, VType::kNumber);
    if (f == "min" || f == "max") {
      arity(2);
      RequireType(args[0], VType::kNumber, f + "()");
      RequireType(args[1], VType::kNumber, f + "()");
      Node n = Make(f == "min" ? Op::kScalarMin : Op::kScalarMax, VType::kNumber, pos);
      n.kids = std::move(args);
      return n;
    }
    if (f == "has") {
      arity(2);
      RequireType(args[0], VType::kCodes, "has()");
      RequireType(args[1], VType::kNumber, "has()");
      Node n = Make(Op::kHasCode, VType::kBool, pos);
      n.kids = std::move(args);
      return n;
    }
    if (f == "contains") {
      arity(2);
      RequireType(args[0], VType::kText, "contains()");
      RequireType(args[1], VType::kText, "contains()");
      Node n = Make(Op::kContains, VType::kBool, pos);
      n.kids = std::move(args);
      return n;
    }
    if (f == "nbs_line" || f == "exit_line" || f == "monitoring_line") {
      arity(1);
      RequireType(args[0], VType::kNumber, f + "() (a year)");
      Node n = Make(Op::kLine, VType::kNumber, pos);
      n.aux = static_cast<int>(f == "nbs_line"    ? LineKind::kNbs
                               : f == "exit_line" ? LineKind::kExit
                                                  : LineKind::kMonitoring);
      n.kids.push_back(std::move(args[0]));
      return n;
    }
    if (f == "threshold") {
      arity(1);
      if (args[0].op != Op::kConst || args[0].type != VType::kText)
        Throw(args[0].pos, "threshold() takes the name of a threshold in quotes");
      const std::optional<double> v = c_.thresholds_.Value(args[0].text);
      if (!v)
        Throw(args[0].pos, fmt::format("no threshold named '{}' in [thresholds]", args[0].text));
      Node n = Make(Op::kConst, VType::kNumber, pos);
      n.num = *v;
      return n;
    }
    if (f == "date") {
      arity(1);
      if (args[0].op != Op::kConst || args[0].type != VType::kText)
        Throw(args[0].pos, "date() takes a date in quotes, like date(\"2019-12-31\")");
      const std::optional<Date> d = ParseIsoDate(args[0].text);
      if (!d) Throw(args[0].pos, fmt::format("'{}' is not a date (YYYY-MM-DD)", args[0].text));
      Node n = Make(Op::kConst, VType::kDate, pos);
      n.num = static_cast<double>(DaysFromCivil(*d));
      return n;
    }
    Throw(pos, fmt::format("unknown function '{}'", f));
  }

  // After "min(" / "max(": is the first argument a collection? Scans to the matching comma.
  bool IsCollectionAhead() const {
    const Token& t = Peek();
    if (t.kind != Tok::kIdent) return false;
    if (t.text == "members") return true;
    // x.<dataset>
    if (Peek(1).kind == Tok::kDot && Peek(2).kind == Tok::kIdent)
      return Schema::Get().DatasetEntity(Peek(2).text) >= 0;
    return false;
  }

  bool InScope(int slot) const {
    return slot < 0 || static_cast<size_t>(slot) >= scope_.size() ||
           scope_[static_cast<size_t>(slot)];
  }

  Compiler& c_;
  std::vector<Token> toks_;
  size_t i_ = 0;
  bool person_;
  int depth_ = 0;
  std::vector<bool> scope_;  // lambda variables currently in scope, by slot
};

}  // namespace fupin::rules

namespace fupin::rules {

Compiler::Compiler(const Thresholds& thresholds, Usage& usage, bool person_scope)
    : thresholds_(thresholds), usage_(usage), person_(person_scope) {
  variables_.push_back({"household", kHousehold, 0});
  if (person_scope) variables_.push_back({"member", kMember, 1});
  slot_count_ = static_cast<int>(variables_.size());
}

std::unique_ptr<Node> Compiler::Condition(std::string_view text, CompileError& error) {
  try {
    Parser p(*this, text, person_);
    Node n = p.ParseAll();
    MarkBinds(n);
    if (n.type != VType::kBool)
      Throw(n.pos, fmt::format("a condition must be true or false, not a {}", VTypeName(n.type)));
    return std::make_unique<Node>(std::move(n));
  } catch (const Fail& f) {
    error = f.error;
    return nullptr;
  }
}

namespace {

// Marks what rendering a variable reads: a household's ID, a member's name and ID, a
// record's row number.
void UseForRender(const Node& n, Usage& usage) {
  if (n.op != Op::kVar) return;
  const Schema& s = Schema::Get();
  if (n.entity == kHousehold) {
    usage.Use(kHousehold, s.FindField(kHousehold, "household_id"));
  } else if (n.entity == kMember) {
    usage.Use(kMember, s.FindField(kMember, "name"));
    usage.Use(kMember, s.FindField(kMember, "id_number"));
  } else {
    usage.Use(n.entity, s.FindField(n.entity, "source_row"));
  }
}

}  // namespace

bool Compiler::CompileTemplate(std::string_view text, Template& out, CompileError& error) {
  out.clear();
  std::string literal;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '{' && i + 1 < text.size() && text[i + 1] == '{') {
      literal.push_back('{');
      i += 2;
      continue;
    }
    if (c == '}' && i + 1 < text.size() && text[i + 1] == '}') {
      literal.push_back('}');
      i += 2;
      continue;
    }
    if (c == '}') {
      error = {static_cast<uint32_t>(i), "'}' without '{' (write }} for a brace)"};
      return false;
    }
    if (c != '{') {
      literal.push_back(c);
      ++i;
      continue;
    }
    // The closing brace, skipping quoted text inside the expression.
    size_t close = std::string_view::npos;
    for (size_t j = i + 1; j < text.size(); ++j) {
      if (text[j] == '"' || text[j] == '\'') {
        const char q = text[j];
        for (++j; j < text.size() && text[j] != q; ++j)
          if (text[j] == '\\') ++j;
        continue;
      }
      if (text[j] == '}') {
        close = j;
        break;
      }
    }
    if (close == std::string_view::npos) {
      error = {static_cast<uint32_t>(i), "'{' without '}' (write {{ for a brace)"};
      return false;
    }
    if (!literal.empty()) out.push_back({std::move(literal), nullptr});
    literal.clear();
    const std::string_view inner = text.substr(i + 1, close - i - 1);
    const size_t declared = variables_.size();
    try {
      Parser p(*this, inner, person_);
      Node n = p.ParseAll();
      MarkBinds(n);
      if (!Scalar(n.type) && n.type != VType::kEntity)
        Throw(n.pos, fmt::format("a {} cannot be shown in text", VTypeName(n.type)));
      UseForRender(n, usage_);
      out.push_back({{}, std::make_unique<Node>(std::move(n))});
      variables_.resize(declared);  // a template's own variables end with its part
    } catch (const Fail& f) {
      error = {static_cast<uint32_t>(i + 1 + f.error.pos), f.error.message};
      return false;
    }
    i = close + 1;
  }
  if (!literal.empty()) out.push_back({std::move(literal), nullptr});
  return true;
}

// ---- evaluation --------------------------------------------------------------------------

namespace {

Val Null() {
  Val v;
  v.null = true;
  v.num = std::nan("");
  return v;
}
Val Num(double d) {
  Val v;
  v.num = d;
  v.null = std::isnan(d);
  return v;
}
Val Bool(bool b) {
  Val v;
  v.num = b ? 1 : 0;
  return v;
}

// Calls fn(row) for each element of a collection until fn returns false.
template <typename F>
void ForEach(const Node& coll, Env& env, F&& fn) {
  const RuleData& d = *env.data;
  switch (coll.op) {
    case Op::kMembers: {
      const uint32_t h = env.slots[0];
      for (uint32_t m = d.member_begin[h]; m < d.member_begin[h + 1]; ++m)
        if (!fn(m)) return;
      return;
    }
    case Op::kMemberRecords: {
      for (uint32_t r :
           d.linked[static_cast<size_t>(coll.entity)].Of(env.slots[static_cast<size_t>(coll.slot)]))
        if (!fn(r)) return;
      return;
    }
    case Op::kHouseholdRecords: {
      const uint32_t h = env.slots[0];
      const Linked& l = d.linked[static_cast<size_t>(coll.entity)];
      for (uint32_t m = d.member_begin[h]; m < d.member_begin[h + 1]; ++m)
        for (uint32_t r : l.Of(m))
          if (!fn(r)) return;
      return;
    }
    default:
      return;
  }
}

bool HasCode(std::string_view codes, double code) {
  size_t i = 0;
  while (i < codes.size()) {
    size_t j = codes.find(';', i);
    if (j == std::string_view::npos) j = codes.size();
    std::string_view part = codes.substr(i, j - i);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    double v = 0;
    bool ok = !part.empty();
    for (char c : part) {
      if (c < '0' || c > '9') {
        ok = false;
        break;
      }
      v = v * 10 + (c - '0');
    }
    if (ok && v == code) return true;
    i = j + 1;
  }
  return false;
}

// Days that make a date fupin can show (years 1 to 9999).
bool InDateRange(double days) { return days > -719000 && days < 2932000; }

// A member's records are only there when the member variable is bound.
bool CollectionBound(const Node& coll, const Env& env) {
  return coll.op != Op::kMemberRecords || env.Bound(coll.slot);
}

}  // namespace

bool EvalBool(const Node& n, Env& env) {
  switch (n.op) {
    case Op::kAnd: {
      if (!n.binds) return EvalBool(n.kids[0], env) && EvalBool(n.kids[1], env);
      // Witnesses bound by a part that did not make the whole true are dropped.
      const uint64_t before = env.bound;
      if (EvalBool(n.kids[0], env) && EvalBool(n.kids[1], env)) return true;
      env.bound = before;
      return false;
    }
    case Op::kOr: {
      if (!n.binds) return EvalBool(n.kids[0], env) || EvalBool(n.kids[1], env);
      const uint64_t before = env.bound;
      if (EvalBool(n.kids[0], env)) return true;
      env.bound = before;
      if (EvalBool(n.kids[1], env)) return true;
      env.bound = before;
      return false;
    }
    case Op::kNot: {
      const uint64_t before = env.bound;
      const bool inner = EvalBool(n.kids[0], env);
      env.bound = before;  // what made the inner part true or false is no evidence here
      return !inner;
    }
    default: {
      const Val v = Eval(n, env);
      return !v.null && v.num != 0;
    }
  }
}

Val Eval(const Node& n, Env& env) {
  switch (n.op) {
    case Op::kConst: {
      if (n.type == VType::kText) {
        Val v;
        v.text = n.text;
        v.null = n.text.empty();
        return v;
      }
      if (n.type == VType::kNull) return Null();
      return Num(n.num);
    }
    case Op::kVar: {
      Val v;
      v.row = env.slots[static_cast<size_t>(n.slot)];
      v.null = !env.Bound(n.slot);
      return v;
    }
    case Op::kField: {
      const Column& c =
          env.data->tables[static_cast<size_t>(n.entity)].cols[static_cast<size_t>(n.field)];
      if (!env.Bound(n.slot)) return Null();  // no witness
      const uint32_t row = env.slots[static_cast<size_t>(n.slot)];
      if (n.type == VType::kText || n.type == VType::kCodes) {
        Val v;
        v.text = c.Text(row);
        v.null = v.text.empty();
        return v;
      }
      return Num(c.Num(row));
    }
    case Op::kNeg:
      return Num(-Eval(n.kids[0], env).num);
    case Op::kNot:
    case Op::kAnd:
    case Op::kOr:
      return Bool(EvalBool(n, env));
    case Op::kAdd:
      return Num(Eval(n.kids[0], env).num + Eval(n.kids[1], env).num);
    case Op::kSub:
      return Num(Eval(n.kids[0], env).num - Eval(n.kids[1], env).num);
    case Op::kMul:
      return Num(Eval(n.kids[0], env).num * Eval(n.kids[1], env).num);
    case Op::kDiv: {
      const double b = Eval(n.kids[1], env).num;
      if (b == 0) return Null();
      return Num(Eval(n.kids[0], env).num / b);
    }
    case Op::kEq:
    case Op::kNe:
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe: {
      const Val a = Eval(n.kids[0], env);
      const Val b = Eval(n.kids[1], env);
      if (a.null || b.null) return Bool(false);  // a comparison with a missing value is false
      if (n.kids[0].type == VType::kText)
        return Bool(n.op == Op::kEq ? a.text == b.text : a.text != b.text);
      switch (n.op) {
        case Op::kEq:
          return Bool(a.num == b.num);
        case Op::kNe:
          return Bool(a.num != b.num);
        case Op::kLt:
          return Bool(a.num < b.num);
        case Op::kLe:
          return Bool(a.num <= b.num);
        case Op::kGt:
          return Bool(a.num > b.num);
        default:
          return Bool(a.num >= b.num);
      }
    }
    case Op::kIn: {
      const Val a = Eval(n.kids[0], env);
      if (a.null) return Bool(false);
      if (n.kids[0].type == VType::kText) {
        for (const std::string& s : n.list_text)
          if (a.text == s) return Bool(true);
        return Bool(false);
      }
      for (double d : n.list_num)
        if (a.num == d) return Bool(true);
      return Bool(false);
    }
    case Op::kIsNull:
      return Bool(Eval(n.kids[0], env).null);
    case Op::kCoalesce: {
      const Val a = Eval(n.kids[0], env);
      return a.null ? Eval(n.kids[1], env) : a;
    }
    case Op::kAbs:
      return Num(std::fabs(Eval(n.kids[0], env).num));
    case Op::kYearsBetween: {
      const Val a = Eval(n.kids[0], env);
      const Val b = Eval(n.kids[1], env);
      if (a.null || b.null || !InDateRange(a.num) || !InDateRange(b.num)) return Null();
      const bool forward = a.num <= b.num;
      const Date from = CivilFromDays(static_cast<long>(forward ? a.num : b.num));
      const Date to = CivilFromDays(static_cast<long>(forward ? b.num : a.num));
      int years = to.year - from.year;
      if (to.month < from.month || (to.month == from.month && to.day < from.day)) --years;
      return Num(forward ? years : -years);
    }
    case Op::kYearOf: {
      const Val a = Eval(n.kids[0], env);
      if (a.null || !InDateRange(a.num)) return Null();
      return Num(CivilFromDays(static_cast<long>(a.num)).year);
    }
    case Op::kHasCode: {
      const Val a = Eval(n.kids[0], env);
      const Val b = Eval(n.kids[1], env);
      return Bool(!a.null && !b.null && HasCode(a.text, b.num));
    }
    case Op::kContains: {
      const Val a = Eval(n.kids[0], env);
      const Val b = Eval(n.kids[1], env);
      return Bool(!a.null && !b.null && a.text.find(b.text) != std::string_view::npos);
    }
    case Op::kLine: {
      const Val y = Eval(n.kids[0], env);
      if (y.null || y.num < 0 || y.num > 10000) return Null();
      const std::optional<double> line =
          env.thresholds->Line(static_cast<LineKind>(n.aux), env.region, static_cast<int>(y.num));
      return line ? Num(*line) : Null();
    }
    case Op::kAsOf:
      return Num(static_cast<double>(env.data->as_of_days));
    case Op::kScalarMin:
    case Op::kScalarMax: {
      const Val a = Eval(n.kids[0], env);
      const Val b = Eval(n.kids[1], env);
      if (a.null) return b;
      if (b.null) return a;
      return Num(n.op == Op::kScalarMin ? std::min(a.num, b.num) : std::max(a.num, b.num));
    }
    case Op::kAny: {
      if (!CollectionBound(n.kids[0], env)) return Null();
      bool found = false;
      if (n.kids.size() < 2) {
        ForEach(n.kids[0], env, [&](uint32_t) {
          found = true;
          return false;
        });
        return Bool(found);
      }
      const uint64_t before = env.bound;
      ForEach(n.kids[0], env, [&](uint32_t row) {
        env.bound = before;  // a failed element leaves no witness behind
        env.slots[static_cast<size_t>(n.slot)] = row;
        env.Bind(n.slot, true);
        found = EvalBool(n.kids[1], env);
        return !found;
      });
      if (!found) env.bound = before;  // the witness stays bound only when found
      return Bool(found);
    }
    case Op::kAll: {
      if (!CollectionBound(n.kids[0], env)) return Null();
      bool all = true;
      const uint64_t before = env.bound;
      ForEach(n.kids[0], env, [&](uint32_t row) {
        env.bound = before;
        env.slots[static_cast<size_t>(n.slot)] = row;
        env.Bind(n.slot, true);
        all = EvalBool(n.kids[1], env);
        return all;
      });
      // The counterexample stays bound when one was found.
      if (all) env.bound = before;
      return Bool(all);
    }
    case Op::kCount: {
      if (!CollectionBound(n.kids[0], env)) return Null();
      double count = 0;
      if (n.kids.size() < 2) {
        ForEach(n.kids[0], env, [&](uint32_t) {
          ++count;
          return true;
        });
        return Num(count);
      }
      const uint64_t before = env.bound;
      ForEach(n.kids[0], env, [&](uint32_t row) {
        env.bound = before;
        env.slots[static_cast<size_t>(n.slot)] = row;
        env.Bind(n.slot, true);
        if (EvalBool(n.kids[1], env)) ++count;
        return true;
      });
      env.bound = before;
      return Num(count);
    }
    case Op::kSum:
    case Op::kMinOf:
    case Op::kMaxOf: {
      if (!CollectionBound(n.kids[0], env)) return Null();
      double acc = n.op == Op::kSum ? 0 : std::nan("");
      const uint64_t before = env.bound;
      ForEach(n.kids[0], env, [&](uint32_t row) {
        env.bound = before;
        env.slots[static_cast<size_t>(n.slot)] = row;
        env.Bind(n.slot, true);
        const Val v = Eval(n.kids[1], env);
        if (v.null) return true;
        if (n.op == Op::kSum) {
          acc += v.num;
        } else if (std::isnan(acc) || (n.op == Op::kMinOf ? v.num < acc : v.num > acc)) {
          acc = v.num;
        }
        return true;
      });
      env.bound = before;
      return Num(acc);
    }
    case Op::kMembers:
    case Op::kMemberRecords:
    case Op::kHouseholdRecords:
      return Null();
  }
  return Null();
}

namespace {

std::string FormatNumber(double v) {
  if (std::fabs(v - std::round(v)) < 1e-9 && std::fabs(v) < 1e15)
    return fmt::format("{}", static_cast<int64_t>(std::llround(v)));
  std::string s = fmt::format("{:.2f}", v);
  while (s.back() == '0') s.pop_back();
  if (s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

std::string Render(const Compiler::Template& t, Env& env, Lang lang) {
  std::string out;
  const Schema& schema = Schema::Get();
  for (const Compiler::Part& part : t) {
    if (!part.expr) {
      out += part.literal;
      continue;
    }
    const Node& n = *part.expr;
    const Val v = Eval(n, env);
    if (v.null) {
      out += "—";
      continue;
    }
    switch (n.type) {
      case VType::kNumber:
        out += FormatNumber(v.num);
        break;
      case VType::kDate:
        out += InDateRange(v.num) ? FormatDate(CivilFromDays(static_cast<long>(v.num))) : "—";
        break;
      case VType::kBool:
        out += lang == Lang::kZh ? (v.num != 0 ? "是" : "否") : (v.num != 0 ? "yes" : "no");
        break;
      case VType::kEntity: {
        const Table& table = env.data->tables[static_cast<size_t>(n.entity)];
        const Entity& e = schema.entity(n.entity);
        if (n.entity == kHousehold) {
          out += table.cols[static_cast<size_t>(schema.FindField(kHousehold, "household_id"))].Text(
              v.row);
        } else if (n.entity == kMember) {
          out += table.cols[static_cast<size_t>(schema.FindField(kMember, "name"))].Text(v.row);
          out += lang == Lang::kZh ? "（" : " (";
          out +=
              table.cols[static_cast<size_t>(schema.FindField(kMember, "id_number"))].Text(v.row);
          out += lang == Lang::kZh ? "）" : ")";
        } else {
          const double row =
              table.cols[static_cast<size_t>(schema.FindField(n.entity, "source_row"))].Num(v.row);
          if (lang == Lang::kZh) {
            out +=
                fmt::format("{}（{}.csv 第{}行）", e.dataset->title_zh, e.name, FormatNumber(row));
          } else {
            out += fmt::format("{}.csv row {}", e.name, FormatNumber(row));
          }
        }
        break;
      }
      default:
        out += v.text;
        break;
    }
  }
  return out;
}

}  // namespace fupin::rules
