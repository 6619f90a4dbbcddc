/**
 * The Pod Security Standards' "restricted" profile (which includes
 * "baseline"), written out control by control as the Kubernetes
 * documentation gives them (kubernetes.io/docs/concepts/security/pod-security-standards),
 * applied to a pod template. Each violation names the field and the control.
 */
import type { V1PodSpec } from "@kubernetes/client-node";

const SAFE_SYSCTLS = new Set([
  "kernel.shm_rmid_forced",
  "net.ipv4.ip_local_port_range",
  "net.ipv4.ip_unprivileged_port_start",
  "net.ipv4.tcp_syncookies",
  "net.ipv4.ping_group_range",
  "net.ipv4.ip_local_reserved_ports",
  "net.ipv4.tcp_keepalive_time",
  "net.ipv4.tcp_fin_timeout",
  "net.ipv4.tcp_keepalive_intvl",
  "net.ipv4.tcp_keepalive_probes",
]);
const RESTRICTED_VOLUMES = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];
const SELINUX_TYPES = new Set(["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"]);

export function restrictedViolations(spec: V1PodSpec): string[] {
  const v: string[] = [];
  const containers = [...(spec.initContainers ?? []).map((c) => ["initContainers", c] as const), ...spec.containers.map((c) => ["containers", c] as const)];
  // baseline
  if (spec.hostNetwork) v.push("hostNetwork: Host Namespaces");
  if (spec.hostPID) v.push("hostPID: Host Namespaces");
  if (spec.hostIPC) v.push("hostIPC: Host Namespaces");
  if (spec.securityContext?.windowsOptions?.hostProcess) v.push("securityContext.windowsOptions.hostProcess: HostProcess");
  (spec.volumes ?? []).forEach((vol, i) => {
    if (vol.hostPath) v.push(`volumes[${i}].hostPath: HostPath Volumes`);
    const kinds = Object.keys(vol).filter((k) => k !== "name" && (vol as unknown as Record<string, unknown>)[k] !== undefined);
    for (const k of kinds) if (!RESTRICTED_VOLUMES.includes(k)) v.push(`volumes[${i}].${k}: Volume Types`);
  });
  for (const s of spec.securityContext?.sysctls ?? []) if (!SAFE_SYSCTLS.has(s.name)) v.push(`securityContext.sysctls ${s.name}: Sysctls`);
  const podSe = spec.securityContext?.seLinuxOptions;
  if (podSe && (!SELINUX_TYPES.has(podSe.type ?? "") || podSe.user || podSe.role)) v.push("securityContext.seLinuxOptions: SELinux");
  const podApparmor = spec.securityContext?.appArmorProfile?.type;
  if (podApparmor && podApparmor !== "RuntimeDefault" && podApparmor !== "Localhost") v.push("securityContext.appArmorProfile: AppArmor");
  // restricted, pod level
  const podSeccomp = spec.securityContext?.seccompProfile?.type;
  if (podSeccomp && podSeccomp !== "RuntimeDefault" && podSeccomp !== "Localhost") v.push("securityContext.seccompProfile: Seccomp");
  if (spec.securityContext?.runAsUser === 0) v.push("securityContext.runAsUser: Running as Non-root user");
  for (const [kind, c] of containers) {
    const at = `${kind}[${c.name}]`;
    const sc = c.securityContext;
    if (sc?.privileged) v.push(`${at}.securityContext.privileged: Privileged Containers`);
    for (const cap of sc?.capabilities?.add ?? []) if (cap !== "NET_BIND_SERVICE") v.push(`${at}.securityContext.capabilities.add ${cap}: Capabilities`);
    if (!(sc?.capabilities?.drop ?? []).includes("ALL")) v.push(`${at}.securityContext.capabilities.drop: Capabilities (must drop ALL)`);
    for (const p of c.ports ?? []) if (p.hostPort) v.push(`${at}.ports.hostPort: Host Ports`);
    if (sc?.procMount && sc.procMount !== "Default") v.push(`${at}.securityContext.procMount: /proc Mount Type`);
    const se = sc?.seLinuxOptions;
    if (se && (!SELINUX_TYPES.has(se.type ?? "") || se.user || se.role)) v.push(`${at}.securityContext.seLinuxOptions: SELinux`);
    const apparmor = sc?.appArmorProfile?.type;
    if (apparmor && apparmor !== "RuntimeDefault" && apparmor !== "Localhost") v.push(`${at}.securityContext.appArmorProfile: AppArmor`);
    if (sc?.allowPrivilegeEscalation !== false) v.push(`${at}.securityContext.allowPrivilegeEscalation: Privilege Escalation (must be false)`);
    if (!(sc?.runAsNonRoot ?? spec.securityContext?.runAsNonRoot)) v.push(`${at}.securityContext.runAsNonRoot: Running as Non-root`);
    if (sc?.runAsUser === 0) v.push(`${at}.securityContext.runAsUser: Running as Non-root user`);
    const seccomp = sc?.seccompProfile?.type ?? podSeccomp;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") v.push(`${at}.securityContext.seccompProfile: Seccomp (RuntimeDefault or Localhost)`);
  }
  return v;
}
