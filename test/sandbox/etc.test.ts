import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { EtcCopies } from "../../satellite/sandbox/etc.ts";
import { ETC_ADAPT } from "../../satellite/sandbox/profile.ts";

/** The private /etc copies the sandbox binds, against a stand-in /etc the test can change. */
const etc = mkdtempSync("/var/tmp/bakerst-etc-source-");
afterAll(() => rmSync(etc, { recursive: true, force: true }));

function fresh(files: Record<string, string>) {
  rmSync(etc, { recursive: true, force: true });
  mkdirSync(etc);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(etc, name), text, { mode: 0o644 });
}

describe("EtcCopies", () => {
  test("copies exactly the named entries into a 0755 directory inside a 0700 one of this process", () => {
    fresh({ passwd: "root:x:0:0\n", group: "root:x:0:\n", shadow: "root:secret\n" });
    const view = new EtcCopies({ base: ["passwd", "group", "absent"] }, {}, etc).view("base");
    expect(readdirSync(view.dir).sort()).toEqual(["group", "passwd"]);
    expect(readFileSync(join(view.dir, "passwd"), "utf8")).toBe("root:x:0:0\n");
    expect(statSync(view.dir).mode & 0o777).toBe(0o755);
    expect(statSync(dirname(view.dir)).mode & 0o777).toBe(0o700);
    expect(statSync(view.dir).uid).toBe(process.getuid!());
  });

  test("a source others may not read stays closed in the copy; nothing becomes writable to others", () => {
    fresh({ passwd: "p\n" });
    writeFileSync(join(etc, "gshadow"), "secret\n", { mode: 0o600 });
    writeFileSync(join(etc, "hosts"), "h\n", { mode: 0o666 });
    const view = new EtcCopies({ base: ["passwd", "gshadow", "hosts"] }, {}, etc).view("base");
    expect(statSync(join(view.dir, "gshadow")).mode & 0o777).toBe(0o600);
    expect(statSync(join(view.dir, "hosts")).mode & 0o777).toBe(0o644);
  });

  test("a changed, replaced or removed source shows in the next view; an unchanged one is not copied again", () => {
    fresh({ passwd: "one\n", hosts: "h\n" });
    const copies = new EtcCopies({ base: ["passwd", "hosts", "group"] }, {}, etc);
    const view = copies.view("base");
    const before = statSync(join(view.dir, "hosts")).ino;
    writeFileSync(join(etc, "passwd"), "two\n");
    writeFileSync(join(etc, "group"), "g\n");
    utimesSync(join(etc, "passwd"), new Date(), new Date(Date.now() + 5000));
    expect(readFileSync(join(copies.view("base").dir, "passwd"), "utf8")).toBe("two\n");
    expect(readFileSync(join(view.dir, "group"), "utf8")).toBe("g\n");
    expect(statSync(join(view.dir, "hosts")).ino).toBe(before);
    rmSync(join(etc, "group"));
    expect(readdirSync(copies.view("base").dir).sort()).toEqual(["hosts", "passwd"]);
  });

  test("a symlinked source (localtime, resolv.conf) is copied by content, and follows a new target", () => {
    fresh({ utc: "UTC\n", paris: "CET\n" });
    symlinkSync(join(etc, "utc"), join(etc, "localtime"));
    const copies = new EtcCopies({ base: ["localtime"] }, {}, etc);
    const dir = copies.view("base").dir;
    expect(readFileSync(join(dir, "localtime"), "utf8")).toBe("UTC\n");
    rmSync(join(etc, "localtime"));
    symlinkSync(join(etc, "paris"), join(etc, "localtime"));
    copies.view("base");
    expect(readFileSync(join(dir, "localtime"), "utf8")).toBe("CET\n");
  });

  test("a copy emptied or removed by a temp cleaner is made again", () => {
    fresh({ passwd: "p\n", group: "g\n" });
    const copies = new EtcCopies({ base: ["passwd", "group"] }, {}, etc);
    const dir = copies.view("base").dir;
    rmSync(join(dir, "group"));
    expect(readdirSync(copies.view("base").dir).sort()).toEqual(["group", "passwd"]);
    rmSync(dir, { recursive: true });
    expect(readdirSync(copies.view("base").dir).sort()).toEqual(["group", "passwd"]);
  });

  test("directories are not copied: an empty mount point, and the host directory to bind over it", () => {
    fresh({ passwd: "p\n" });
    mkdirSync(join(etc, "ssl"));
    mkdirSync(join(etc, "ssl", "private"), { mode: 0o700 });
    writeFileSync(join(etc, "ssl", "private", "key.pem"), "PRIVATE KEY");
    const view = new EtcCopies({ network: ["passwd", "ssl"] }, {}, etc).view("network");
    expect(view.dirs).toEqual([join(etc, "ssl")]);
    expect(readdirSync(join(view.dir, "ssl"))).toEqual([]);
  });

  test("nsswitch.conf is adapted: users and groups from files only, the rest as the host has it", () => {
    fresh({ "nsswitch.conf": "# comment\npasswd:         files systemd\ngroup:          compat sss\nshadow: files ldap\nhosts:          files myhostname dns\n" });
    const view = new EtcCopies({ base: ["nsswitch.conf"] }, ETC_ADAPT, etc).view("base");
    expect(readFileSync(join(view.dir, "nsswitch.conf"), "utf8")).toBe(
      "# comment\npasswd:         files\ngroup:          files\nshadow: files\nhosts:          files myhostname dns\n",
    );
  });

  test("paths under /etc that a profile mounts over get mount points in a copy of their own", () => {
    fresh({ passwd: "p\n" });
    const copies = new EtcCopies({ base: ["passwd"] }, {}, etc);
    const plain = copies.view("base");
    const k3s = copies.view("base", [
      { path: join(etc, "rancher/k3s/k3s.yaml"), dir: false },
      { path: join(etc, "extra"), dir: true },
    ]);
    expect(k3s.dir).not.toBe(plain.dir);
    expect(statSync(join(k3s.dir, "rancher/k3s/k3s.yaml")).size).toBe(0);
    expect(statSync(join(k3s.dir, "rancher")).mode & 0o777).toBe(0o755);
    expect(statSync(join(k3s.dir, "extra")).isDirectory()).toBe(true);
    expect(readdirSync(plain.dir)).toEqual(["passwd"]);
  });
});
