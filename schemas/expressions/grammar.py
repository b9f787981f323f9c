"""The grammar (lark, LALR) and the parser that turns expression text into a syntax tree.

The grammar text lives here as a string rather than a ``.lark`` file so that it ships with the
package without package-data configuration.
"""

from __future__ import annotations

GRAMMAR = r"""
// The EIS expression language (docs/expressions.md). LALR(1): parsing is iterative, so deep
// input cannot overflow the Python stack; the tree callbacks enforce the nesting limit.

?start: pipe

?pipe: ternary
     | pipe "|" pipe_target                 -> pipe

?pipe_target: NAME "(" [args] ")"           -> pipe_call
            | NAME                          -> pipe_name
            | "@" step*                     -> rel_at
            | "." first_step step*          -> rel_dot
            | first_bracket step*           -> rel_dot

?ternary: or_expr
        | or_expr "?" ternary ":" ternary   -> ternary

?or_expr: and_expr
        | or_expr OR and_expr               -> or_

?and_expr: not_expr
         | and_expr AND not_expr            -> and_

?not_expr: comparison
         | NOT not_expr                     -> not_

?comparison: coalesce
           | coalesce COMPOP coalesce       -> compare
           | coalesce IN coalesce           -> in_
           | coalesce NOT IN coalesce       -> in_
           | coalesce LIKE coalesce         -> like
           | coalesce NOT LIKE coalesce     -> like
           | coalesce ILIKE coalesce        -> like
           | coalesce NOT ILIKE coalesce    -> like

?coalesce: sum
         | coalesce "??" sum                -> coalesce

?sum: product
    | sum PLUS product                      -> binop
    | sum MINUS product                     -> binop

?product: unary
        | product STAR unary                -> binop
        | product SLASH unary               -> binop
        | product PERCENT unary             -> binop

?unary: postfix
      | MINUS unary                         -> neg
      | BANG unary                          -> not_

?postfix: primary
        | postfix step                      -> path

?primary: STRING                            -> string
        | NUMBER                            -> number
        | TRUE                              -> true
        | FALSE                             -> false
        | NULL                              -> null
        | "$"                               -> payload
        | "@"                               -> current
        | NAME                              -> name
        | NAME "(" [args] ")"               -> call
        | "(" pipe ")"                      -> paren
        | "[" [items] "]"                   -> list_lit
        | "{" [pairs] "}"                   -> object_lit

?step: "." NAME                             -> step_key
     | first_bracket
     | "." "{" pairs "}"                    -> step_hash

?first_step: NAME                           -> step_key
           | first_bracket
           | "{" pairs "}"                  -> step_hash

?first_bracket: "[" STAR "]"                -> step_project
              | "[" pipe "]"                -> step_index

items: pipe ("," pipe)* [","]
pairs: pair ("," pair)* [","]
pair: (NAME | STRING) ":" pipe
args: arg ("," arg)*
?arg: pipe
    | LAMBDA_HEAD pipe                      -> lambda_

// Keywords are case-insensitive and must not run on into a name (`android`, `in-stock`).
AND.2: /and(?![\w-])/i | "&&"
OR.2: /or(?![\w-])/i | "||"
NOT.2: /not(?![\w-])/i
IN.2: /in(?![\w-])/i
LIKE.2: /like(?![\w-])/i
ILIKE.2: /ilike(?![\w-])/i
TRUE.2: /true(?![\w-])/i
FALSE.2: /false(?![\w-])/i
NULL.2: /null(?![\w-])/i
LAMBDA_HEAD.3: /[A-Za-z_][A-Za-z0-9_]*\s*=>/
             | /\(\s*(?:[A-Za-z_][A-Za-z0-9_]*(?:\s*,\s*[A-Za-z_][A-Za-z0-9_]*)*)?\s*\)\s*=>/

// A hyphen between letters/digits joins a name (`inventory-check`, `x-request-id`);
// subtraction needs spaces: `a - b`.
NAME: /[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*/
NUMBER: /\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/
STRING: /'(?:[^'\\]|\\.)*'/s | /"(?:[^"\\]|\\.)*"/s
COMPOP: /==|!=|<=|>=|<|>/
PLUS: "+"
MINUS: "-"
STAR: "*"
SLASH: "/"
PERCENT: "%"
BANG: "!"

%ignore /\s+/
"""
