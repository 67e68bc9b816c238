package dev.asyncdiff.adapters.controlnet;

import dev.asyncdiff.api.AddOn;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.engine.Engine;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.spi.AsyncDiffRuntime;
import dev.asyncdiff.spi.RuntimeConfig;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.synthetic.Scale;
import dev.asyncdiff.synthetic.SyntheticModels;
import dev.asyncdiff.synthetic.TokenizerKind;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Tiny synthetic base folders and ControlNets, written once per build under {@code target/test-models}. */
final class ControlNetFixtures {
    private static final Path ROOT = Path.of("target", "test-models").toAbsolutePath();

    private ControlNetFixtures() {
    }

    /** The tiny folder of {@code family}; with {@code residualInputs} its UNet is OnnxStack's controlnet UNet. */
    static synchronized Path base(Family family, boolean residualInputs) {
        Path dir = ROOT.resolve(family.cliName() + (residualInputs ? "-residual-unet" : ""));
        if (!Files.isRegularFile(dir.resolve(SyntheticModels.MODEL_INDEX))) {
            SyntheticModels.write(family, Scale.TINY, DType.FP32, 1, TokenizerKind.BPE, ExternalDataPolicy.AUTO,
                    residualInputs, dir);
        }
        return dir;
    }

    /** The tiny ControlNet of {@code family} with weight seed {@code seed}. */
    static synchronized Path controlNet(Family family, long seed) {
        Path dir = ROOT.resolve(family.cliName() + "-controlnet-" + seed);
        if (!Files.isRegularFile(dir.resolve("model.onnx"))) {
            SyntheticModels.writeControlNet(family, Scale.TINY, DType.FP32, seed, dir);
        }
        return dir;
    }

    /** An engine on {@code devices} CPU devices with its split cache under {@code cache}. */
    static Engine engine(int devices, Path cache) {
        List<Device> list = java.util.stream.IntStream.range(0, devices).mapToObj(Device::cpu).toList();
        return Engine.builder(AsyncDiffRuntime.create(RuntimeConfig.builder().devices(list).build()))
                .splitCache(cache).build();
    }

    /** {@code base} opened with the ControlNets in {@code controlNets}. */
    static DiffusionPipeline open(Engine engine, Path base, Path... controlNets) {
        return engine.open(base, java.util.Arrays.stream(controlNets).map(AddOn::controlNet).toList());
    }

    /** A white ring and a bar on black, like an edge map. */
    static BufferedImage edges(int size) {
        BufferedImage image = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                double r = Math.hypot(x - size / 2.0, y - size / 2.0);
                boolean white = Math.abs(r - size / 4.0) < 1.5 || Math.abs(x - size / 5) < 1;
                image.setRGB(x, y, white ? 0xFFFFFF : 0);
            }
        }
        return image;
    }
}
