package dev.asyncdiff.spi;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ProviderCatalogTest {
    @Test
    void discoversEveryKindAndListsThemSortedByKindThenName() {
        ProviderCatalog catalog = ProviderCatalog.load();

        List<String> listed = catalog.entries().stream()
                .map(entry -> entry.kind() + " " + entry.provider().name() + " " + entry.provider().version())
                .toList();

        assertThat(listed).containsExactly(
                "adapter test-adapter dev",
                "backend fake dev",
                "backend other 9.9",
                "sampler test-sampler dev",
                "strategy test-strategy dev");
    }
}
