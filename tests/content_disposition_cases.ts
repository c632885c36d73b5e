/**
 * Content-Disposition headers and the file name each gives: [what, header, expected], with
 * "xlsform" as the fallback name (as the XLSForm download uses).
 */
export const DISPOSITION_CASES: [string, string | null, string][] = [
  ["no header", null, "xlsform"],
  ["an empty header", "", "xlsform"],
  ["no file name", "attachment", "xlsform"],
  ["a quoted name", 'attachment; filename="form.xlsx"', "form.xlsx"],
  ["an unquoted token", "attachment; filename=form.xls", "form.xls"],
  ["keys in any case", 'attachment; FileName="form.xlsx"', "form.xlsx"],
  ["escapes in a quoted name", 'attachment; filename="a\\"b.xlsx"', "a_b.xlsx"],
  ["a semicolon inside quotes", 'attachment; filename="a;b.xlsx"', "a;b.xlsx"],
  ["filename* in UTF-8", "attachment; filename*=UTF-8''%C3%A9t%C3%A9.xlsx", "été.xlsx"],
  ["filename* in ISO-8859-1", "attachment; filename*=iso-8859-1'en'%E9t%E9.xlsx", "été.xlsx"],
  [
    "filename* preferred over filename",
    "attachment; filename=\"plain.xlsx\"; filename*=UTF-8''fancy.xlsx",
    "fancy.xlsx",
  ],
  [
    "a broken filename* falls back to filename",
    "attachment; filename*=UTF-8''%E9%ZZ.xlsx; filename=\"plain.xlsx\"",
    "plain.xlsx",
  ],
  ["a filename* without a charset part", "attachment; filename*=plain.xlsx", "xlsform"],
  ["parent directories", 'attachment; filename="../../evil.xlsx"', "evil.xlsx"],
  ["an absolute path", 'attachment; filename="/etc/passwd"', "passwd"],
  ["backslashes", 'attachment; filename="C:\\\\Windows\\\\x.xlsx"', "x.xlsx"],
  ["encoded slashes", "attachment; filename*=UTF-8''..%2F..%2Fevil%20name.xlsx", "evil name.xlsx"],
  ["only dots", 'attachment; filename=".."', "xlsform"],
  ["leading and trailing dots and spaces", 'attachment; filename=" .x.xlsx. "', "x.xlsx"],
  ["control characters", 'attachment; filename="a\u0001b\u007f.xlsx"', "ab.xlsx"],
  ["characters Windows forbids", 'attachment; filename="a<b>:c|d?*.xlsx"', "a_b__c_d__.xlsx"],
  ["a Windows device name", 'attachment; filename="CON.xlsx"', "_CON.xlsx"],
  ["a device name in lower case", 'attachment; filename="lpt1"', "_lpt1"],
  ["a name merely starting like a device", 'attachment; filename="console.xlsx"', "console.xlsx"],
];
