package dev.asyncdiff.cli;

import dev.asyncdiff.adapters.controlnet.CannyEdges;
import dev.asyncdiff.api.ControlImage;
import dev.asyncdiff.api.Images;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** One ControlNet of {@code generate}: its folder, its control image and how strongly and when it acts. */
final class ControlNetOptions {
    @Option(names = "--controlnet", paramLabel = "DIR", required = true,
            description = "A ControlNet folder (model.onnx + config.json, or controlnet/model.onnx) made for the "
                    + "--model family; repeat the group (--controlnet … --control-image …) for several ControlNets.")
    Path folder;

    @Option(names = "--control-image", paramLabel = "FILE", required = true,
            description = "The ControlNet's control image (resized to the output; read as RGB in [0, 1]).")
    Path image;

    @Option(names = "--control-scale", paramLabel = "S",
            description = "The ControlNet's conditioning scale (default: 1.0).")
    double scale = 1.0;

    @Option(names = "--control-start", paramLabel = "F",
            description = "Fraction of the steps before which the ControlNet is off (default: 0.0).")
    double start;

    @Option(names = "--control-end", paramLabel = "F",
            description = "Fraction of the steps after which the ControlNet is off (default: 1.0).")
    double end = 1.0;

    @Option(names = "--canny", paramLabel = "LOW,HIGH", split = ",",
            description = "Turns the control image into Canny edges first, as cv2.Canny(image, LOW, HIGH) "
                    + "(e.g. 100,200).")
    int[] canny;

    /**
     * The control image as the request takes it, Canny edges where asked.
     *
     * @throws IllegalArgumentException naming the flag when a value is out of range or the image unreadable
     */
    ControlImage controlImage() {
        if (canny != null && canny.length != 2) {
            throw new IllegalArgumentException("--canny takes LOW,HIGH (two thresholds, e.g. 100,200), got "
                    + canny.length + " value(s)");
        }
        BufferedImage read = Images.read(image);
        BufferedImage control = canny == null ? read : CannyEdges.apply(read, canny[0], canny[1]);
        return new ControlImage(control, scale, start, end);
    }
}
