package dev.asyncdiff.adapters.controlnet;

import dev.asyncdiff.api.AddOn;
import dev.asyncdiff.synthetic.Family;
import dev.asyncdiff.tck.AdapterVerification;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Nested;

/** The compatibility kit on ControlNet generation (merged placement) for SD 1.5 and SDXL. */
class ControlNetCompatibilityTest {
    abstract static class ControlNetFamily extends AdapterVerification {
        abstract Family family();

        @Override
        protected String adapterName() {
            return ControlNetAdapterProvider.NAME;
        }

        @Override
        protected Path modelFolder() {
            return ControlNetFixtures.base(family(), false);
        }

        @Override
        protected List<AddOn> addOns() {
            return List.of(AddOn.controlNet(ControlNetFixtures.controlNet(family(), 7)));
        }
    }

    @Nested
    class Sd15 extends ControlNetFamily {
        @Override
        Family family() {
            return Family.SD15;
        }
    }

    @Nested
    class Sdxl extends ControlNetFamily {
        @Override
        Family family() {
            return Family.SDXL;
        }
    }
}
