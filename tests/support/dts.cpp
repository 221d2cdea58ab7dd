#include "dts.hpp"

#include <cctype>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

namespace daily::test::dts {
namespace {

using nlohmann::json;

constexpr int kMaxDepth = 40;  // (a self-referring type is a bug of the reader, not an endless check)

std::string trim(const std::string& s) {
  const auto begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return {};
  return s.substr(begin, s.find_last_not_of(" \t\r\n") - begin + 1);
}

// The text without its /* */ and // comments (string literals kept whole).
std::string withoutComments(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\'' || c == '"' || c == '`') {
      const std::size_t end = text.find(c, i + 1);
      const std::size_t stop = end == std::string::npos ? text.size() : end + 1;
      out.append(text, i, stop - i);
      i = stop - 1;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      const std::size_t end = text.find("*/", i + 2);
      i = end == std::string::npos ? text.size() : end + 1;
      out += ' ';
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      const std::size_t end = text.find('\n', i);
      i = end == std::string::npos ? text.size() : end - 1;
    } else {
      out += c;
    }
  }
  return out;
}

bool opens(char c) { return c == '{' || c == '(' || c == '[' || c == '<'; }
bool closes(char c) { return c == '}' || c == ')' || c == ']' || c == '>'; }

// Walks text at bracket depth 0, calling at(i) for each character there; strings, nested brackets and the '>' of
// '=>' are stepped over. at returns false to stop; walk returns where it stopped (text.size() when it did not).
template <class At>
std::size_t walk(const std::string& text, std::size_t from, At at) {
  int depth = 0;
  for (std::size_t i = from; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\'' || c == '"' || c == '`') {
      if (depth == 0 && !at(i)) return i;
      const std::size_t end = text.find(c, i + 1);
      i = end == std::string::npos ? text.size() : end;
      continue;
    }
    if (c == '>' && i > 0 && text[i - 1] == '=') continue;
    if (closes(c)) {
      --depth;
      if (depth < 0) return i;  // the end of the enclosing bracket
      continue;
    }
    if (depth == 0 && !at(i)) return i;
    if (opens(c)) ++depth;
  }
  return text.size();
}

// The index of the bracket closing the one at open.
std::size_t closing(const std::string& text, std::size_t open) { return walk(text, open + 1, [](std::size_t) { return true; }); }

// text split at depth-0 occurrences of sep, pieces trimmed, empty ones dropped.
std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  walk(text, 0, [&](std::size_t i) {
    if (text[i] == sep) {
      parts.push_back(trim(text.substr(start, i - start)));
      start = i + 1;
    }
    return true;
  });
  parts.push_back(trim(text.substr(start)));
  std::vector<std::string> kept;
  for (auto& p : parts)
    if (!p.empty()) kept.push_back(std::move(p));
  return kept;
}

bool isIdentifierChar(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; }

std::string describe(const json& value) {
  std::string text = value.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

}  // namespace

Declarations::Declarations(const std::string& source) {
  const std::string text = withoutComments(source);
  const std::regex start(R"((?:^|[;}\s])(?:export\s+)?(?:declare\s+)?(interface|type)\s+([A-Za-z_$][\w$]*))");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), start); it != std::sregex_iterator(); ++it) {
    const std::string kind = (*it)[1].str(), name = (*it)[2].str();
    std::size_t i = static_cast<std::size_t>(it->position(0) + it->length(0));
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    std::vector<std::string> params;
    if (i < text.size() && text[i] == '<') {
      const std::size_t end = closing(text, i);
      for (const auto& p : split(text.substr(i + 1, end - i - 1), ',')) {
        std::size_t n = 0;
        while (n < p.size() && isIdentifierChar(p[n])) ++n;
        params.push_back(p.substr(0, n));
      }
      i = end + 1;
    }
    if (kind == "interface") {
      const std::size_t open = text.find('{', i);
      if (open == std::string::npos) continue;
      Interface decl;
      decl.params = std::move(params);
      const std::string head = trim(text.substr(i, open - i));
      if (head.rfind("extends", 0) == 0) decl.bases = split(head.substr(7), ',');
      decl.body = text.substr(open + 1, closing(text, open) - open - 1);
      interfaces_[name] = std::move(decl);
    } else {
      const std::size_t equals = text.find('=', i);
      if (equals == std::string::npos || trim(text.substr(i, equals - i)) != "") continue;
      const std::size_t end = walk(text, equals + 1, [&](std::size_t j) { return text[j] != ';'; });
      aliases_[name] = trim(text.substr(equals + 1, end - equals - 1));
    }
  }
}

Declarations Declarations::fromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return Declarations(text.str());
}

std::vector<std::string> Declarations::literalsOf(const std::string& name) const {
  std::vector<std::string> names;
  const auto alias = aliases_.find(name);
  if (alias == aliases_.end()) return names;
  for (const auto& part : split(alias->second, '|'))
    if (part.size() >= 2 && part.front() == '\'' && part.back() == '\'') names.push_back(part.substr(1, part.size() - 2));
  return names;
}

std::string Declarations::eventType(const std::string& action) const {
  const auto alias = aliases_.find("DailyEventObject");
  if (alias == aliases_.end()) return {};
  const std::regex branch(R"(T extends (\w+)\['action'\]\s*\?\s*(\w+))");
  const std::string& text = alias->second;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), branch); it != std::sregex_iterator(); ++it) {
    const std::string name = (*it)[1].str();
    for (const auto& member : objectOf(name, 0).members)
      if (member.name == "action" && checkType(action, member.type, "", 0).empty()) return (*it)[2].str();
  }
  return "DailyEventObjectBase";
}

Declarations::Object Declarations::objectOf(const std::string& name, int depth) const {
  Object object;
  std::string body;
  if (const auto decl = interfaces_.find(name); decl != interfaces_.end()) {
    for (const auto& base : decl->second.bases) {
      const std::string baseName = base.substr(0, base.find('<'));
      Object inherited = objectOf(trim(baseName), depth + 1);
      object.members.insert(object.members.end(), inherited.members.begin(), inherited.members.end());
      if (!inherited.indexType.empty()) object.indexType = inherited.indexType;
    }
    body = decl->second.body;
  } else if (const auto alias = aliases_.find(name); alias != aliases_.end() && !alias->second.empty() &&
                                                     alias->second.front() == '{') {
    body = alias->second.substr(1, closing(alias->second, 0) - 1);
  } else if (name.size() >= 2 && name.front() == '{') {  // an inline object type
    body = name.substr(1, closing(name, 0) - 1);
  }
  std::vector<std::string> lines = split(body, ';');
  if (lines.size() == 1) lines = split(lines[0], ',');  // `{ a: x, b: y }`
  const std::regex member(R"(^(?:readonly\s+)?('[^']*'|[A-Za-z_$][\w$]*)(\?)?\s*:\s*([\s\S]*)$)");
  const std::regex index(R"(^\[\s*\w+\s*:\s*string\s*\]\s*:\s*([\s\S]*)$)");
  for (const auto& line : lines) {
    std::smatch m;
    if (std::regex_match(line, m, index)) {
      object.indexType = trim(m[1].str());
    } else if (std::regex_match(line, m, member)) {
      std::string memberName = m[1].str();
      if (memberName.front() == '\'') memberName = memberName.substr(1, memberName.size() - 2);
      // A later declaration of a member (an interface narrowing its base's) replaces the earlier one.
      for (auto it = object.members.begin(); it != object.members.end();)
        it = it->name == memberName ? object.members.erase(it) : it + 1;
      object.members.push_back({memberName, m[2].matched, trim(m[3].str())});
    }  // (methods and call signatures describe no JSON)
  }
  return object;
}

std::vector<std::string> Declarations::check(const json& value, const std::string& type, const std::string& path) const {
  return checkType(value, type, path, 0);
}

std::vector<std::string> Declarations::checkObject(const json& value, const Object& object, bool allOptional,
                                                   const std::string& path, int depth) const {
  if (!value.is_object()) return {path + ": " + describe(value) + " is not an object"};
  std::vector<std::string> problems;
  for (const auto& member : object.members) {
    const auto field = value.find(member.name);
    if (field == value.end()) {
      if (!member.optional && !allOptional) problems.push_back(path + "." + member.name + ": missing");
      continue;
    }
    auto found = checkType(*field, member.type, path + "." + member.name, depth + 1);
    problems.insert(problems.end(), found.begin(), found.end());
  }
  if (!object.indexType.empty()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      bool declared = false;
      for (const auto& member : object.members) declared = declared || member.name == it.key();
      if (declared) continue;
      auto found = checkType(*it, object.indexType, path + "." + it.key(), depth + 1);
      problems.insert(problems.end(), found.begin(), found.end());
    }
  }
  return problems;
}

std::vector<std::string> Declarations::checkNamed(const json& value, const std::string& name,
                                                  const std::vector<std::string>& args, const std::string& path,
                                                  int depth) const {
  const auto arg = [&](std::size_t i) { return i < args.size() ? args[i] : std::string("any"); };
  if (name == "Array" || name == "Set" || name == "ReadonlyArray") {  // (a Set travels as an array)
    if (!value.is_array()) return {path + ": " + describe(value) + " is not an array"};
    std::vector<std::string> problems;
    for (std::size_t i = 0; i < value.size(); ++i) {
      auto found = checkType(value[i], arg(0), path + "[" + std::to_string(i) + "]", depth + 1);
      problems.insert(problems.end(), found.begin(), found.end());
    }
    return problems;
  }
  if (name == "Record") {
    if (!value.is_object()) return {path + ": " + describe(value) + " is not an object"};
    Object object;
    object.indexType = arg(1);
    return checkObject(value, object, false, path, depth);
  }
  if (name == "Partial") {
    const std::string inner = arg(0);
    return checkObject(value, objectOf(inner.substr(0, inner.find('<')), depth + 1), true, path, depth);
  }
  if (name == "Extract") return checkType(value, arg(1), path, depth + 1);
  if (name == "Date") {  // (an ISO 8601 string in JSON)
    static const std::regex iso(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$)");
    if (value.is_string() && std::regex_match(value.get<std::string>(), iso)) return {};
    return {path + ": " + describe(value) + " is not an ISO 8601 date"};
  }
  if (const auto decl = interfaces_.find(name); decl != interfaces_.end()) {
    Object object = objectOf(name, depth + 1);
    for (auto& member : object.members)  // generic parameters are taken as `any`
      for (const auto& param : decl->second.params)
        if (member.type == param) member.type = "any";
    return checkObject(value, object, false, path, depth);
  }
  const auto alias = aliases_.find(name);
  if (alias == aliases_.end()) return {path + ": the d.ts declares no type " + name};
  const std::string& text = alias->second;
  // A conditional type discriminated by one field: `T extends A['f'] ? A : T extends B['f'] ? B : Fallback`.
  static const std::regex branch(R"(T extends (\w+)\['(\w+)'\]\s*\?\s*(\w+))");
  if (std::regex_search(text, branch)) {
    for (auto it = std::sregex_iterator(text.begin(), text.end(), branch); it != std::sregex_iterator(); ++it) {
      const std::string field = (*it)[2].str();
      if (!value.is_object() || !value.contains(field)) continue;
      for (const auto& member : objectOf((*it)[1].str(), depth + 1).members)
        if (member.name == field && checkType(value[field], member.type, "", depth + 1).empty())
          return checkType(value, (*it)[3].str(), path, depth + 1);
    }
    const std::size_t last = text.rfind(':');
    return checkType(value, trim(text.substr(last + 1)), path, depth + 1);
  }
  if (!text.empty() && text.front() == '{') return checkObject(value, objectOf(name, depth + 1), false, path, depth);
  return checkType(value, text, path, depth + 1);
}

std::vector<std::string> Declarations::checkType(const json& value, const std::string& typeText,
                                                 const std::string& path, int depth) const {
  if (depth > kMaxDepth) return {path + ": types nested too deeply to check"};
  std::string type = trim(typeText);
  while (type.size() >= 2 && type.front() == '(' && closing(type, 0) == type.size() - 1)
    type = trim(type.substr(1, type.size() - 2));
  const auto alternatives = split(type, '|');
  if (alternatives.size() > 1) {
    std::vector<std::string> first;
    for (const auto& alternative : alternatives) {
      auto found = checkType(value, alternative, path, depth + 1);
      if (found.empty()) return {};
      if (first.empty()) first = std::move(found);
    }
    if (alternatives.size() <= 3) return first;  // (`T | false`: what T lacks says the most)
    return {path + ": " + describe(value) + " is none of " + type};
  }
  if (const auto parts = split(type, '&'); parts.size() > 1) {
    std::vector<std::string> problems;
    for (const auto& part : parts) {
      auto found = checkType(value, part, path, depth + 1);
      problems.insert(problems.end(), found.begin(), found.end());
    }
    return problems;
  }
  const auto is = [&](bool ok, const char* what) -> std::vector<std::string> {
    if (ok) return {};
    return {path + ": " + describe(value) + " is not " + what};
  };
  if (type == "any" || type == "unknown") return {};
  if (type == "string") return is(value.is_string(), "a string");
  if (type == "number") return is(value.is_number(), "a number");
  if (type == "boolean") return is(value.is_boolean(), "a boolean");
  if (type == "null") return is(value.is_null(), "null");
  if (type == "true" || type == "false") return is(value == (type == "true"), type.c_str());
  if (type == "object" || type == "{}") return is(value.is_object(), "an object");
  if (type == "undefined" || type == "void" || type == "never") return is(false, type.c_str());
  if (type.front() == '\'' || type.front() == '"') return is(value == type.substr(1, type.size() - 2), type.c_str());
  if (std::isdigit(static_cast<unsigned char>(type.front()))) return is(value == std::stod(type), type.c_str());
  if (type.front() == '{') return checkObject(value, objectOf(type, depth + 1), false, path, depth);
  if (type.size() > 2 && type.compare(type.size() - 2, 2, "[]") == 0) {
    return checkNamed(value, "Array", {type.substr(0, type.size() - 2)}, path, depth);
  }
  std::size_t n = 0;
  while (n < type.size() && (isIdentifierChar(type[n]) || type[n] == '.')) ++n;
  const std::string name = type.substr(0, n);
  std::vector<std::string> args;
  if (n < type.size() && type[n] == '<') args = split(type.substr(n + 1, closing(type, n) - n - 1), ',');
  if (name.empty()) return {path + ": cannot read the type " + type};
  return checkNamed(value, name, args, path, depth);
}

}  // namespace daily::test::dts
