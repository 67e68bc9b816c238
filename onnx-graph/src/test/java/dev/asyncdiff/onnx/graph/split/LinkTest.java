package dev.asyncdiff.onnx.graph.split;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.Device;
import java.util.List;
import org.junit.jupiter.api.Test;

class LinkTest {
    @Test
    void namesAndBandwidthsParse() {
        assertThat(Link.parse("PCIe")).isEqualTo(Link.PCIE);
        assertThat(Link.parse(" inprocess ")).isEqualTo(Link.INPROCESS);
        assertThat(Link.parse("12.5").bytesPerSecond()).isEqualTo(12.5e9);
        assertThat(Link.parse("100GB/s").bytesPerSecond()).isEqualTo(100e9);
        assertThat(Link.parse("100GB/s").name()).isEqualTo("100GB/s");
    }

    @Test
    void badLinksNameTheAcceptedForms() {
        for (String bad : new String[] {"infiniband", "-3", "0", "", "NaN"}) {
            assertThatThrownBy(() -> Link.parse(bad)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("expected inprocess, nvlink, pcie, ethernet");
        }
    }

    @Test
    void timeIsBytesOverBandwidthAndFreeInProcess() {
        assertThat(Link.ETHERNET.seconds(1.25e9)).isEqualTo(1.0);
        assertThat(Link.INPROCESS.seconds(1e12)).isZero();
    }

    @Test
    void cpuWorkersShareMemoryAndGpusDefaultToPcie() {
        assertThat(Link.defaultFor(List.of(Device.parse("cpu:0"), Device.parse("cpu:1")))).isEqualTo(Link.INPROCESS);
        assertThat(Link.defaultFor(List.of(Device.parse("cuda:0"), Device.parse("cuda:1")))).isEqualTo(Link.PCIE);
    }
}
