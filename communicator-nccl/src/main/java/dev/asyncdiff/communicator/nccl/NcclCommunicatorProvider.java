package dev.asyncdiff.communicator.nccl;

import dev.asyncdiff.api.BackendException;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.communicator.grpc.DeviceLink;
import dev.asyncdiff.communicator.grpc.GrpcCommunicatorProvider;
import dev.asyncdiff.communicator.grpc.GrpcWorldProvider;
import dev.asyncdiff.spi.Communicator;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Loader;

/**
 * The {@code nccl} communicator: a grpc world (the same rendezvous, tasks, headers and host tensors; ranks are
 * {@code asyncdiff worker --communicator nccl}) whose GPU ranks move device-resident tensors with NCCL. NCCL
 * ({@code libnccl.so.2}) and the CUDA runtime load only when a world is created, from the host's libraries or
 * the {@code -Ptensorrt} build's redistributables.
 */
public final class NcclCommunicatorProvider implements GrpcWorldProvider {
    public static final String NAME = "nccl";
    static final DeviceLink.Factory LINK = new DeviceLink.Factory() {
        @Override
        public String name() {
            return NAME;
        }

        @Override
        public byte[] newId() {
            loadNatives();
            return NcclLink.newId();
        }

        @Override
        public DeviceLink open(int rank, List<Device> devices, byte[] id) {
            loadNatives();
            return NcclLink.open(rank, devices, id);
        }
    };

    private final GrpcCommunicatorProvider world;

    /** Settings from this process's environment, as for grpc. */
    public NcclCommunicatorProvider() {
        this(System.getenv());
    }

    /** Settings from {@code environment} ({@code WORLD_SIZE}, {@code MASTER_PORT} …). */
    public NcclCommunicatorProvider(Map<String, String> environment) {
        this.world = new GrpcCommunicatorProvider(environment, LINK);
    }

    @Override
    public String name() {
        return NAME;
    }

    /**
     * @throws IllegalArgumentException when a device is not a GPU, or as {@link GrpcCommunicatorProvider#create}
     * @throws BackendException         when NCCL or the CUDA runtime cannot load
     */
    @Override
    public Communicator create(List<Device> devices) {
        for (Device device : devices) {
            if (!device.kind().equals(Device.CUDA_KIND)) {
                throw new IllegalArgumentException("the nccl communicator connects GPUs, but the devices are "
                        + devices + "; use --communicator grpc for ranks on CPUs");
            }
        }
        return world.create(devices);
    }

    @Override
    public DeviceLink.Factory deviceLink() {
        return LINK;
    }

    private static void loadNatives() {
        try {
            Loader.load(org.bytedeco.cuda.global.cudart.class);
            Loader.load(org.bytedeco.cuda.global.nccl.class);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new BackendException("NCCL_NATIVES", "NCCL or the CUDA runtime could not load on this machine ("
                    + e.getMessage() + "): the nccl communicator needs NVIDIA's libnccl.so.2 (from the host's NCCL "
                    + "package, or the -Ptensorrt build's CUDA 13 redistributables), JavaCPP's linux-x86_64 natives "
                    + "(-Ptensorrt) and an NVIDIA driver for CUDA 13", e);
        }
    }
}
