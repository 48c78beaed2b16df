# SPDX-License-Identifier: GPL-2.0
"""A small CRI client standing in for the kubelet in the runtime tests:
runs pod sandboxes and containers on containerd's CRI plugin over gRPC."""
import os, sys, time, uuid
import grpc

sys.path.insert(0, os.environ.get("TW_CRI_PY", "build/k8s/py"))
import cri_pb2 as c  # noqa: E402
import cri_harness_pb2 as h  # noqa: E402

RT = "/runtime.v1.RuntimeService/"
CALLS = {
    "RunPodSandbox": (h.RunPodSandboxRequest, h.RunPodSandboxResponse),
    "StopPodSandbox": (h.StopPodSandboxRequest, h.StopPodSandboxResponse),
    "RemovePodSandbox": (h.RemovePodSandboxRequest, h.RemovePodSandboxResponse),
    "CreateContainer": (h.CreateContainerRequest, h.CreateContainerResponse),
    "StartContainer": (h.StartContainerRequest, h.StartContainerResponse),
    "StopContainer": (h.StopContainerRequest, h.StopContainerResponse),
    "RemoveContainer": (h.RemoveContainerRequest, h.RemoveContainerResponse),
    "ContainerStatus": (c.ContainerStatusRequest, c.ContainerStatusResponse),
    "ListPodSandbox": (c.ListPodSandboxRequest, c.ListPodSandboxResponse),
    "ListContainers": (c.ListContainersRequest, c.ListContainersResponse),
}


class Pod:
    def __init__(self, cri, name, namespace, labels, cgroup_parent, privileged, pid_host):
        self.cri, self.name, self.namespace = cri, name, namespace
        self.uid = str(uuid.uuid4())
        labels = dict(labels)
        labels.update({"io.kubernetes.pod.name": name, "io.kubernetes.pod.namespace": namespace,
                       "io.kubernetes.pod.uid": self.uid})
        self.logdir = os.path.join(cri.logdir, self.uid)
        os.makedirs(self.logdir, exist_ok=True)
        ns = h.NamespaceOption(network=2, pid=2 if pid_host else 0, ipc=0)
        self.config = h.PodSandboxConfig(
            metadata=c.PodSandboxMetadata(name=name, uid=self.uid, namespace=namespace),
            hostname="", log_directory=self.logdir, labels=labels,
            linux=h.LinuxPodSandboxConfig(
                cgroup_parent=f"{cgroup_parent}/pod{self.uid}",
                security_context=h.LinuxSandboxSecurityContext(
                    namespace_options=ns, privileged=privileged)))
        self.id = cri.call("RunPodSandbox", config=self.config).pod_sandbox_id
        self.containers = []

    def container(self, name, image, command, args=(), mounts=(), privileged=False,
                  caps=None, pid_host=False, env=None, start=True):
        """Create and start; returns the id, or raises grpc.RpcError (refused by the hook)."""
        sc = h.LinuxContainerSecurityContext(
            privileged=privileged,
            namespace_options=h.NamespaceOption(network=2, pid=2 if pid_host else 1))
        if caps is not None:
            sc.capabilities.CopyFrom(h.Capability(add_capabilities=caps, drop_capabilities=["ALL"]))
        cfg = h.ContainerConfig(
            metadata=c.ContainerMetadata(name=name), image=h.ImageSpec(image=image),
            command=list(command), args=list(args), mounts=list(mounts),
            envs=[h.KeyValue(key=k, value=v) for k, v in (env or {}).items()],
            log_path=f"{name}.log", linux=h.LinuxContainerConfig(security_context=sc))
        cid = self.cri.call("CreateContainer", pod_sandbox_id=self.id, config=cfg,
                            sandbox_config=self.config).container_id
        self.containers.append(cid)
        if start:
            self.cri.call("StartContainer", container_id=cid)
        return cid

    def log(self, name):
        try:
            with open(os.path.join(self.logdir, f"{name}.log")) as f:
                # CRI log lines: TIME STREAM TAG MESSAGE
                return "".join(l.split(" ", 3)[3] for l in f if l.count(" ") >= 3)
        except OSError:
            return ""

    def remove(self):
        if self in self.cri.pods:
            self.cri.pods.remove(self)
        try:
            self.cri.call("StopPodSandbox", pod_sandbox_id=self.id)
            self.cri.call("RemovePodSandbox", pod_sandbox_id=self.id)
        except grpc.RpcError as e:
            print(f"    cleanup of pod {self.name}: {e.details()}")


class CRI:
    def __init__(self, socket, logdir):
        self.channel = grpc.insecure_channel("unix://" + socket)
        self.logdir = logdir
        self.pods = []

    def call(self, name, timeout=30, **kw):
        req_t, resp_t = CALLS[name]
        fn = self.channel.unary_unary(RT + name, request_serializer=req_t.SerializeToString,
                                      response_deserializer=resp_t.FromString)
        return fn(req_t(**kw), timeout=timeout)

    def pod(self, name, namespace="default", labels=None, cgroup_parent="/kubepods/besteffort",
            privileged=False, pid_host=False):
        p = Pod(self, name, namespace, labels or {}, cgroup_parent, privileged, pid_host)
        self.pods.append(p)
        return p

    def wait_exit(self, cid, timeout=20):
        """The container's status once it has exited (bounded)."""
        end = time.time() + timeout
        while time.time() < end:
            st = self.call("ContainerStatus", container_id=cid).status
            if st.state == c.CONTAINER_EXITED:
                return st
            time.sleep(0.05)
        raise TimeoutError(f"container {cid[:12]} still running after {timeout}s")

    def status(self, cid, verbose=False):
        return self.call("ContainerStatus", container_id=cid, verbose=verbose)

    def cleanup(self):
        for p in reversed(list(self.pods)):
            p.remove()
        self.pods = []
