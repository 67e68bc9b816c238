package dev.asyncdiff.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.junit.jupiter.api.Test;

class ProvidersCommandTest {
    private static final List<String> KINDS = List.of("adapter", "backend", "communicator", "sampler", "strategy");

    @Test
    void listsEveryProviderAsKindNameVersionSorted() {
        CliRun run = CliRun.of("providers");

        assertThat(run.exitCode()).isZero();
        assertThat(run.err()).isEmpty();
        List<List<String>> rows = run.outLines().stream().map(line -> List.of(line.split("\\s+"))).toList();
        assertThat(rows).allSatisfy(row -> {
            assertThat(row).hasSize(3);
            assertThat(KINDS).contains(row.get(0));
        });
        assertThat(rows).contains(List.of("backend", "cli-test-backend", "1.2.3"),
                List.of("sampler", "cli-test-sampler", "0.0.1"));
        List<List<String>> sorted = new ArrayList<>(rows);
        sorted.sort(Comparator.<List<String>, String>comparing(row -> row.get(0)).thenComparing(row -> row.get(1)));
        assertThat(rows).isEqualTo(sorted);
    }

    @Test
    void jsonHoldsTheSameEntries() throws IOException {
        CliRun text = CliRun.of("providers");
        CliRun run = CliRun.of("providers", "--json");

        assertThat(run.exitCode()).isZero();
        assertThat(run.outLines()).hasSize(1);
        JsonNode providers = new ObjectMapper().readTree(run.out()).get("providers");
        assertThat(providers.isArray()).isTrue();
        List<String> fromJson = new ArrayList<>();
        for (JsonNode provider : providers) {
            assertThat(provider.size()).isEqualTo(3);
            fromJson.add(provider.get("kind").asText() + " " + provider.get("name").asText() + " "
                    + provider.get("version").asText());
        }
        assertThat(fromJson).contains("backend cli-test-backend 1.2.3")
                .isEqualTo(text.outLines().stream().map(line -> line.replaceAll("\\s+", " ")).toList());
    }
}
