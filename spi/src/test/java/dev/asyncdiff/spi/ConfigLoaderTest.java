package dev.asyncdiff.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.Device;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {
    private static final ConfigLoader NO_ENV = new ConfigLoader(Map.of());

    @TempDir
    Path dir;

    private Path write(String name, String content) throws IOException {
        return Files.writeString(dir.resolve(name), content);
    }

    private static List<String> devices(RuntimeConfig config) {
        return config.devices().stream().map(Device::toString).toList();
    }

    @Test
    void nothingConfiguredGivesTheDefaults() {
        assertThat(NO_ENV.load(null, ConfigOverrides.none())).isEqualTo(RuntimeConfig.defaults());
        assertThat(NO_ENV.load(ConfigOverrides.none())).isEqualTo(RuntimeConfig.defaults());
    }

    @Test
    void readsAJsonFile() throws IOException {
        Path file = write("asyncdiff.json", """
                {"backend": "tensorrt", "devices": ["cuda:0", "cuda:1"],
                 "backendOptions": {"tensorrt": {"workspaceMb": 512, "fp16": true}, "onnx": {"intraOpThreads": 2}}}
                """);

        RuntimeConfig config = NO_ENV.load(file, ConfigOverrides.none());

        assertThat(config.backend()).isEqualTo("tensorrt");
        assertThat(devices(config)).containsExactly("cuda:0", "cuda:1");
        assertThat(config.backendOptions()).containsOnly(Map.entry("workspaceMb", "512"), Map.entry("fp16", "true"));
    }

    @Test
    void readsAYamlFileWithEitherExtension() throws IOException {
        String yaml = """
                # the config documented in the README
                backend: onnx
                devices: [cpu:0, cpu:1]
                backendOptions:
                  onnx:
                    intraOpThreads: 2
                """;
        for (String name : List.of("asyncdiff.yaml", "asyncdiff.YML")) {
            RuntimeConfig config = NO_ENV.load(write(name, yaml), ConfigOverrides.none());

            assertThat(config.backend()).isEqualTo("onnx");
            assertThat(devices(config)).containsExactly("cpu:0", "cpu:1");
            assertThat(config.backendOptions()).containsExactly(Map.entry("intraOpThreads", "2"));
        }
    }

    @Test
    void fileDevicesMayBeOneCommaSeparatedString() throws IOException {
        Path file = write("c.yml", "devices: cpu:0, cpu:2\n");

        assertThat(devices(NO_ENV.load(file, ConfigOverrides.none()))).containsExactly("cpu:0", "cpu:2");
    }

    @Test
    void anEmptyYamlFileChangesNothing() throws IOException {
        assertThat(NO_ENV.load(write("empty.yaml", ""), ConfigOverrides.none())).isEqualTo(RuntimeConfig.defaults());
    }

    @Test
    void environmentWinsOverTheFileAndFlagsWinOverBoth() throws IOException {
        Path file = write("c.json", """
                {"backend": "fileBackend", "devices": ["cpu:0"],
                 "backendOptions": {"fileBackend": {"a": "file"}, "envBackend": {"a": "file-for-env"},
                                    "flagBackend": {"a": "file-for-flag", "b": "file"}}}
                """);
        ConfigLoader env = new ConfigLoader(Map.of(
                ConfigLoader.ENV_BACKEND, "envBackend", ConfigLoader.ENV_DEVICES, "cpu:1,cpu:2"));

        RuntimeConfig fileOnly = NO_ENV.load(file, ConfigOverrides.none());
        assertThat(fileOnly.backend()).isEqualTo("fileBackend");
        assertThat(devices(fileOnly)).containsExactly("cpu:0");
        assertThat(fileOnly.backendOptions()).containsExactly(Map.entry("a", "file"));

        RuntimeConfig fileAndEnv = env.load(file, ConfigOverrides.none());
        assertThat(fileAndEnv.backend()).isEqualTo("envBackend");
        assertThat(devices(fileAndEnv)).containsExactly("cpu:1", "cpu:2");
        assertThat(fileAndEnv.backendOptions()).containsExactly(Map.entry("a", "file-for-env"));

        RuntimeConfig all = env.load(file, new ConfigOverrides("flagBackend", "cpu:3", Map.of("b", "flag")));
        assertThat(all.backend()).isEqualTo("flagBackend");
        assertThat(devices(all)).containsExactly("cpu:3");
        assertThat(all.backendOptions()).containsOnly(Map.entry("a", "file-for-flag"), Map.entry("b", "flag"));
    }

    @Test
    void eachPartComesFromTheLatestLayerThatSetsIt() throws IOException {
        Path file = write("c.yaml", "backend: fromFile\ndevices: [cpu:0]\n");
        ConfigLoader env = new ConfigLoader(Map.of(ConfigLoader.ENV_DEVICES, "cpu:5"));

        RuntimeConfig config = env.load(file, new ConfigOverrides(null, null, Map.of("x", "1")));

        assertThat(config.backend()).isEqualTo("fromFile");
        assertThat(devices(config)).containsExactly("cpu:5");
        assertThat(config.backendOptions()).containsExactly(Map.entry("x", "1"));
    }

    @Test
    void blankEnvironmentVariablesAreIgnored() {
        ConfigLoader env = new ConfigLoader(Map.of(ConfigLoader.ENV_BACKEND, " ", ConfigLoader.ENV_DEVICES, ""));

        assertThat(env.load(ConfigOverrides.none())).isEqualTo(RuntimeConfig.defaults());
    }

    @Test
    void aBadDeviceNamesWhereItCameFrom() throws IOException {
        Path file = write("c.json", "{\"devices\": [\"cpu:0\", \"gpu:x\"]}");
        assertThatThrownBy(() -> NO_ENV.load(file, ConfigOverrides.none()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("invalid device 'gpu:x'; expected KIND:N")
                .hasMessageEndingWith("(from config file " + file + ", key 'devices')");

        ConfigLoader env = new ConfigLoader(Map.of(ConfigLoader.ENV_DEVICES, "cpu:0,t pu"));
        assertThatThrownBy(() -> env.load(ConfigOverrides.none()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("invalid device 't pu'")
                .hasMessageEndingWith("(from environment variable ASYNCDIFF_DEVICES)");

        assertThatThrownBy(() -> NO_ENV.load(new ConfigOverrides(null, "cpu:x", Map.of())))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("invalid device 'cpu:x'")
                .hasMessageEndingWith("(from flag --devices)");

        assertThatThrownBy(() -> NO_ENV.load(new ConfigOverrides(null, "cpu:0,,cpu:1", Map.of())))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("empty device")
                .hasMessageContaining("flag --devices");

        assertThatThrownBy(() -> NO_ENV.load(new ConfigOverrides(null, "cpu:1,cpu:1", Map.of())))
                .isInstanceOf(ConfigException.class)
                .hasMessage("device cpu:1 is listed twice (from flag --devices)");
    }

    @Test
    void aBadBackendNameNamesWhereItCameFrom() {
        ConfigLoader env = new ConfigLoader(Map.of(ConfigLoader.ENV_BACKEND, "on nx"));

        assertThatThrownBy(() -> env.load(ConfigOverrides.none()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("'on nx'")
                .hasMessageEndingWith("(from environment variable ASYNCDIFF_BACKEND)");
    }

    @Test
    void aMissingFileIsNamed() {
        Path missing = dir.resolve("nope.yaml");

        assertThatThrownBy(() -> NO_ENV.load(missing, ConfigOverrides.none()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("config file " + missing + " not found");
    }

    @Test
    void aDirectoryIsNotAConfigFile() throws IOException {
        Path directory = Files.createDirectory(dir.resolve("conf.json"));

        assertThatThrownBy(() -> NO_ENV.load(directory, ConfigOverrides.none()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("not a regular file");
    }

    @Test
    void anUnknownExtensionIsRejected() throws IOException {
        Path file = write("asyncdiff.toml", "backend = 'onnx'");

        assertThatThrownBy(() -> NO_ENV.load(file, ConfigOverrides.none()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(file.toString())
                .hasMessageContaining(".json, .yaml or .yml");
    }

    @Test
    void malformedFilesAreReportedWithTheirFormatAndPosition() throws IOException {
        Path json = write("bad.json", "{\"backend\": \"onnx\",\n \"devices\": [\"cpu:0\"\n");
        assertThatThrownBy(() -> NO_ENV.load(json, ConfigOverrides.none()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("config file " + json + " is not valid JSON: ")
                .hasMessageContaining("(line ");

        Path yaml = write("bad.yaml", "backend: [onnx\ndevices: cpu:0\n");
        assertThatThrownBy(() -> NO_ENV.load(yaml, ConfigOverrides.none()))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("config file " + yaml + " is not valid YAML: ");

        Path duplicate = write("dup.json", "{\"backend\": \"a\", \"backend\": \"b\"}");
        assertThatThrownBy(() -> NO_ENV.load(duplicate, ConfigOverrides.none()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("Duplicate field 'backend'");
    }

    @Test
    void anUnknownKeyIsNamedWithTheFile() throws IOException {
        Path file = write("typo.yaml", "backend: onnx\ndevice: cpu:1\n");

        assertThatThrownBy(() -> NO_ENV.load(file, ConfigOverrides.none()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("config file " + file + ": unknown key 'device'; expected one of backend, devices, "
                        + "backendOptions, placement");
    }

    @Test
    void placementComesFromTheFileWithItsBackendsOptionsAndFlagsWin() throws IOException {
        Path file = write("placed.yaml", "backend: onnx\nplacement: {denoiser: tensorrt, vae: onnx}\n"
                + "backendOptions: {onnx: {intraOpThreads: 2}, tensorrt: {maxBatch: 4}, other: {x: 1}}\n");
        RuntimeConfig config = NO_ENV.load(file, new ConfigOverrides(null, null, Map.of(),
                Map.of("components.1.backend", "onnx"), Map.of("tensorrt", Map.of("profile", "512:1024"))));
        assertThat(config.placement().byPart()).isEqualTo(Map.of("denoiser", "tensorrt", "vae", "onnx",
                "components.1", "onnx"));
        assertThat(config.backendOptions()).isEqualTo(Map.of("intraOpThreads", "2"));
        assertThat(config.toBackendOptions("tensorrt").options()).isEqualTo(Map.of("maxBatch", "4",
                "profile", "512:1024"));
        assertThat(config.optionsByBackend()).doesNotContainKey("other");

        Path wrong = write("wrong.yaml", "placement: [denoiser]\n");
        assertThatThrownBy(() -> NO_ENV.load(wrong, ConfigOverrides.none())).isInstanceOf(ConfigException.class)
                .hasMessageContaining("'placement' must map parts to backend names");
        Path unknownPart = write("part.yaml", "placement: {unet: tensorrt}\n");
        assertThatThrownBy(() -> NO_ENV.load(unknownPart, ConfigOverrides.none())).isInstanceOf(ConfigException.class)
                .hasMessageContaining("unknown part 'unet'");
    }

    @Test
    void valuesOfTheWrongShapeAreNamed() throws IOException {
        Path notMapping = write("list.json", "[\"onnx\"]");
        assertThatThrownBy(() -> NO_ENV.load(notMapping, ConfigOverrides.none()))
                .hasMessageContaining("expected a mapping").hasMessageContaining("found a list");

        Path backendNumber = write("n.yaml", "backend: 3\n");
        assertThatThrownBy(() -> NO_ENV.load(backendNumber, ConfigOverrides.none()))
                .hasMessageContaining("'backend' must be a backend name, found '3'");

        Path nestedOption = write("o.yaml", "backendOptions:\n  onnx:\n    threads: [1, 2]\n");
        assertThatThrownBy(() -> NO_ENV.load(nestedOption, ConfigOverrides.none()))
                .hasMessageContaining("'backendOptions.onnx.threads' must be a string, number or boolean, found a list");

        Path flatOptions = write("f.yaml", "backendOptions:\n  intraOpThreads: 2\n");
        assertThatThrownBy(() -> NO_ENV.load(flatOptions, ConfigOverrides.none()))
                .hasMessageContaining("'backendOptions.intraOpThreads' must map option names to values");

        Path emptyDevices = write("d.json", "{\"devices\": []}");
        assertThatThrownBy(() -> NO_ENV.load(emptyDevices, ConfigOverrides.none()))
                .hasMessageContaining("expected a non-empty list of devices");
    }
}
