package dev.asyncdiff.communicator.nccl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.asyncdiff.api.BackendException;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.spi.CommunicatorProvider;
import java.io.IOException;
import java.net.ServerSocket;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.bytedeco.javacpp.Loader;
import org.junit.jupiter.api.Test;

/** What the nccl communicator does without a GPU: it is found, refuses CPU ranks, and says what it lacks. */
class NcclCommunicatorProviderTest {
    @Test
    void isFoundThroughTheServiceLoaderAndGivesWorkersItsLink() {
        NcclCommunicatorProvider nccl = ServiceLoader.load(CommunicatorProvider.class).stream()
                .map(ServiceLoader.Provider::get).filter(NcclCommunicatorProvider.class::isInstance)
                .map(NcclCommunicatorProvider.class::cast).findFirst().orElseThrow();
        assertThat(nccl.name()).isEqualTo("nccl");
        assertThat(nccl.deviceLink().name()).isEqualTo("nccl");
    }

    @Test
    void refusesRanksOnCpus() {
        NcclCommunicatorProvider nccl = new NcclCommunicatorProvider(Map.of("WORLD_SIZE", "2"));
        assertThatThrownBy(() -> nccl.create(List.of(Device.cuda(0), Device.cpu(1))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("the nccl communicator connects GPUs, but the devices are [cuda:0, cpu:1]")
                .hasMessageContaining("--communicator grpc");
        assertThatThrownBy(() -> NcclLink.open(0, List.of(Device.cuda(0), Device.cpu(1)), new byte[128]))
                .hasMessageContaining("rank 1 is on cpu:1");
    }

    @Test
    void withoutNcclNativesTheWorldFailsBeforeItsRendezvousSayingWhatToInstall() throws IOException {
        assumeFalse(nativesLoad(), "NCCL loads here: this checks a machine without it");
        NcclCommunicatorProvider nccl = new NcclCommunicatorProvider(Map.of("WORLD_SIZE", "2", "MASTER_ADDR",
                "127.0.0.1", "MASTER_PORT", Integer.toString(freePort()), "ASYNCDIFF_JOIN_TIMEOUT", "5"));
        assertThatThrownBy(() -> nccl.create(List.of(Device.cuda(0), Device.cuda(1))))
                .isInstanceOf(BackendException.class)
                .hasMessageContaining("libnccl.so.2")
                .hasMessageContaining("-Ptensorrt")
                .satisfies(e -> assertThat(((BackendException) e).errorCode()).isEqualTo("NCCL_NATIVES"));
    }

    private static boolean nativesLoad() {
        try {
            Loader.load(org.bytedeco.cuda.global.nccl.class);
            return true;
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
