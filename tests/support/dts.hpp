// daily-js's type declarations read as a contract for JSON: which interface daily-js gives an event, and whether a
// JSON value has every field a TypeScript type marks required, with a JSON type that type allows. Enough of
// TypeScript for daily-js-0.92.2.d.ts: interfaces and their bases, type aliases, unions, literals, inline object
// types, index signatures, arrays, Array/Set/Record/Partial/Extract/Omit, and conditional types discriminated by
// one field (DailyEventObject<T>, DailyFatalErrorObject<T>). What a d.ts type has and JSON has not is mapped as
// docs/protocol.md says: a Set is an array, a Date an ISO 8601 string.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace daily::test::dts {

class Declarations {
 public:
  /// Reads the declarations of a d.ts file's text.
  explicit Declarations(const std::string& text);
  /// Reads the d.ts file at path (throws std::runtime_error when it cannot).
  static Declarations fromFile(const std::string& path);

  /// The type daily-js's DailyEventObject<T> gives the event action (an interface's name).
  std::string eventType(const std::string& action) const;
  /// What is wrong with value as a type (a TypeScript type expression, e.g. "DailyParticipant"): one line per
  /// missing required field or wrong type, each starting with its path; empty when the value conforms.
  std::vector<std::string> check(const nlohmann::json& value, const std::string& type,
                                 const std::string& path = "$") const;
  /// The string literals of `export type name = 'a' | 'b' ...;`.
  std::vector<std::string> literalsOf(const std::string& name) const;
  bool hasType(const std::string& name) const { return interfaces_.count(name) || aliases_.count(name); }

 private:
  struct Member {
    std::string name;
    bool optional = false;
    std::string type;
  };
  struct Object {
    std::vector<Member> members;
    std::string indexType;  // of `[key: string]: T`, when there is one
  };
  struct Interface {
    std::vector<std::string> params;  // generic parameters, taken as `any`
    std::vector<std::string> bases;
    std::string body;
  };

  Object objectOf(const std::string& name, int depth) const;
  std::vector<std::string> checkObject(const nlohmann::json& value, const Object& object, bool allOptional,
                                       const std::string& path, int depth) const;
  std::vector<std::string> checkNamed(const nlohmann::json& value, const std::string& name,
                                      const std::vector<std::string>& args, const std::string& path, int depth) const;
  std::vector<std::string> checkType(const nlohmann::json& value, const std::string& type, const std::string& path,
                                     int depth) const;

  std::map<std::string, Interface> interfaces_;
  std::map<std::string, std::string> aliases_;  // name → the type after '='
};

}  // namespace daily::test::dts
