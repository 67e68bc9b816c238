package dev.asyncdiff.adapters.video;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.engine.Engine;
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
import java.util.stream.IntStream;

/** Tiny synthetic SVD and AnimateDiff folders, written once per build under {@code target/test-models}. */
final class VideoFixtures {
    private static final Path ROOT = Path.of("target", "test-models").toAbsolutePath();

    private VideoFixtures() {
    }

    /** The tiny folder of the video {@code family}. */
    static synchronized Path folder(Family family) {
        Path dir = ROOT.resolve(family.cliName());
        if (!Files.isRegularFile(dir.resolve(SyntheticModels.MODEL_INDEX))) {
            SyntheticModels.write(family, Scale.TINY, DType.FP32, 3, TokenizerKind.BPE, dir);
        }
        return dir;
    }

    /** An engine on {@code devices} CPU devices with its split cache under {@code cache}. */
    static Engine engine(int devices, Path cache) {
        List<Device> list = IntStream.range(0, devices).mapToObj(Device::cpu).toList();
        return Engine.builder(AsyncDiffRuntime.create(RuntimeConfig.builder().devices(list).build()))
                .splitCache(cache).build();
    }

    /** A still with a gradient and a bright square at {@code offset}. */
    static BufferedImage still(int width, int height, int offset) {
        BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < height; y++) {
            for (int x = 0; x < width; x++) {
                boolean square = x >= offset && x < offset + width / 4 && y >= height / 3 && y < height / 3 + height / 4;
                int r = square ? 250 : 255 * x / Math.max(1, width - 1);
                int g = square ? 230 : 255 * y / Math.max(1, height - 1);
                image.setRGB(x, y, (r << 16) | (g << 8) | 90);
            }
        }
        return image;
    }
}
